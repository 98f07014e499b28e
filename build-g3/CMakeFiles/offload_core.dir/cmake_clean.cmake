file(REMOVE_RECURSE
  "CMakeFiles/offload_core.dir/native/src/api.cpp.o"
  "CMakeFiles/offload_core.dir/native/src/api.cpp.o.d"
  "CMakeFiles/offload_core.dir/native/src/cuda/cuda_backend.cu.o"
  "CMakeFiles/offload_core.dir/native/src/cuda/cuda_backend.cu.o.d"
  "CMakeFiles/offload_core.dir/native/src/device.cpp.o"
  "CMakeFiles/offload_core.dir/native/src/device.cpp.o.d"
  "CMakeFiles/offload_core.dir/native/src/disk/disk_pipeline.cpp.o"
  "CMakeFiles/offload_core.dir/native/src/disk/disk_pipeline.cpp.o.d"
  "CMakeFiles/offload_core.dir/native/src/disk/disk_reader.cpp.o"
  "CMakeFiles/offload_core.dir/native/src/disk/disk_reader.cpp.o.d"
  "CMakeFiles/offload_core.dir/native/src/host/device_arena.cpp.o"
  "CMakeFiles/offload_core.dir/native/src/host/device_arena.cpp.o.d"
  "CMakeFiles/offload_core.dir/native/src/host/host_backend.cpp.o"
  "CMakeFiles/offload_core.dir/native/src/host/host_backend.cpp.o.d"
  "CMakeFiles/offload_core.dir/native/src/host/host_stream.cpp.o"
  "CMakeFiles/offload_core.dir/native/src/host/host_stream.cpp.o.d"
  "CMakeFiles/offload_core.dir/native/src/memory/device_ledger.cpp.o"
  "CMakeFiles/offload_core.dir/native/src/memory/device_ledger.cpp.o.d"
  "CMakeFiles/offload_core.dir/native/src/memory/pinned_registry.cpp.o"
  "CMakeFiles/offload_core.dir/native/src/memory/pinned_registry.cpp.o.d"
  "CMakeFiles/offload_core.dir/native/src/memory/region_allocator.cpp.o"
  "CMakeFiles/offload_core.dir/native/src/memory/region_allocator.cpp.o.d"
  "CMakeFiles/offload_core.dir/native/src/prefetch/engine.cpp.o"
  "CMakeFiles/offload_core.dir/native/src/prefetch/engine.cpp.o.d"
  "CMakeFiles/offload_core.dir/native/src/prefetch/engine_disk.cpp.o"
  "CMakeFiles/offload_core.dir/native/src/prefetch/engine_disk.cpp.o.d"
  "CMakeFiles/offload_core.dir/native/src/prefetch/engine_end.cpp.o"
  "CMakeFiles/offload_core.dir/native/src/prefetch/engine_end.cpp.o.d"
  "CMakeFiles/offload_core.dir/native/src/stream_body.cpp.o"
  "CMakeFiles/offload_core.dir/native/src/stream_body.cpp.o.d"
  "liboffload_core.a"
  "liboffload_core.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CUDA CXX)
  include(CMakeFiles/offload_core.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
