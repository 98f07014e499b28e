file(REMOVE_RECURSE
  "CMakeFiles/test_engine.dir/tests/native/test_engine.cpp.o"
  "CMakeFiles/test_engine.dir/tests/native/test_engine.cpp.o.d"
  "test_engine"
  "test_engine.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/test_engine.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
