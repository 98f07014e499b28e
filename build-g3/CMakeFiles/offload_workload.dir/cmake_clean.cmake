file(REMOVE_RECURSE
  "CMakeFiles/offload_workload.dir/native/workload/linear_cuda.cu.o"
  "CMakeFiles/offload_workload.dir/native/workload/linear_cuda.cu.o.d"
  "CMakeFiles/offload_workload.dir/native/workload/mix_cuda.cu.o"
  "CMakeFiles/offload_workload.dir/native/workload/mix_cuda.cu.o.d"
  "CMakeFiles/offload_workload.dir/native/workload/mix_host.cpp.o"
  "CMakeFiles/offload_workload.dir/native/workload/mix_host.cpp.o.d"
  "liboffload_workload.pdb"
  "liboffload_workload.so"
)

# Per-language clean rules from dependency scanning.
foreach(lang CUDA CXX)
  include(CMakeFiles/offload_workload.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
