file(REMOVE_RECURSE
  "CMakeFiles/test_handles.dir/tests/native/test_handles.cpp.o"
  "CMakeFiles/test_handles.dir/tests/native/test_handles.cpp.o.d"
  "test_handles"
  "test_handles.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/test_handles.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
