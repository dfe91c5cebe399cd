import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `tally import mlflow|tensorboard …`: history from other trackers, read by the Python client's
/// importers with those tools' own packages (docs/imports.md).
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import runs from MLflow (an mlruns folder or an sqlite:/// store) or TensorBoard logs.",
        discussion: """
            Runs the Python client's importers (`python3 -m tally.importers`, or $TALLY_PYTHON -m …), which read the
            source with mlflow's or tensorboard's own package: install them where the Tally client is
            (pip install tally mlflow-skinny tensorboard). An import may be run again: it adds nothing that is there.
              tally import mlflow SOURCE [--prefix P] [--text-params] [--socket PATH] [--json]
              tally import tensorboard LOGDIR --experiment NAME [--socket PATH] [--json]
            """
    )

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("mlflow SOURCE … or tensorboard LOGDIR --experiment NAME …", valueName: "source"))
    var arguments: [String] = []

    func validate() throws {
        guard let kind = arguments.first, ["mlflow", "tensorboard"].contains(kind) else {
            throw ValidationError("give mlflow SOURCE or tensorboard LOGDIR --experiment NAME")
        }
    }

    func run() async throws {
        let python = ProcessInfo.processInfo.environment["TALLY_PYTHON"].flatMap { $0.isEmpty ? nil : $0 } ?? "python3"
        let argv = [python, "-m", "tally.importers"] + arguments
        // The importer takes over this process: its output, exit status and signals are the command's.
        var cArguments = argv.map { strdup($0) }
        cArguments.append(nil)
        execvp(python, &cArguments)
        let reason = String(cString: strerror(errno))
        throw ValidationErrorMessage(message: "cannot run \(python): \(reason) (set TALLY_PYTHON to the Python that has the tally client)")
    }
}
