/* Stub: the generic detector. */
#include "webmail/webmail.h"
