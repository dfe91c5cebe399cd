#include "tally_placeholder.h"
