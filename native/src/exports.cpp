// exports.cpp: the translation unit of the shared library itself; every exported symbol comes
// from the static core linked in whole (see CMakeLists.txt).
#include "offload.h"
