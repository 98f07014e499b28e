file(REMOVE_RECURSE
  "CMakeFiles/bench_h2d.dir/bench/native/bench_h2d.cpp.o"
  "CMakeFiles/bench_h2d.dir/bench/native/bench_h2d.cpp.o.d"
  "bench_h2d"
  "bench_h2d.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/bench_h2d.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
