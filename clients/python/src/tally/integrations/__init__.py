"""Framework integrations: log a training to Tally from the framework's own hooks.

- `tally.integrations.lightning.TallyLogger`: a PyTorch Lightning logger
  (`Trainer(logger=TallyLogger(experiment="mnist"))`).
- `tally.integrations.transformers.TallyCallback`: a Hugging Face `TrainerCallback`
  (`Trainer(..., callbacks=[TallyCallback(experiment="bert")])`; `register()` makes
  `report_to="tally"` work).
- `tally.integrations.keras.TallyCallback`: a Keras 3 callback (`model.fit(..., callbacks=[TallyCallback()])`).
- `tally.integrations.sklearn`: `log_estimator(run, estimator, X_test, y_test)` and
  `log_search(run, grid_search)`.

Each logs into a run it is given (`run=`) or starts its own (`experiment=`, `name=`, `params=`,
`tags=`, `client=`). Importing `tally` or this package imports no framework: each framework is
imported by its own module (`tally.integrations.keras` imports keras, and so on), and
`tally.integrations.sklearn` imports scikit-learn only when called. See docs/integrations.md.
"""
