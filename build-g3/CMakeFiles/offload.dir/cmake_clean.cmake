file(REMOVE_RECURSE
  "CMakeFiles/offload.dir/native/src/exports.cpp.o"
  "CMakeFiles/offload.dir/native/src/exports.cpp.o.d"
  "liboffload.pdb"
  "liboffload.so"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/offload.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
