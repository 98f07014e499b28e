
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt-g3/native/src/cuda/cuda_backend.cu" "CMakeFiles/offload_core.dir/native/src/cuda/cuda_backend.cu.o" "gcc" "CMakeFiles/offload_core.dir/native/src/cuda/cuda_backend.cu.o.d"
  "/work/wt-g3/native/src/api.cpp" "CMakeFiles/offload_core.dir/native/src/api.cpp.o" "gcc" "CMakeFiles/offload_core.dir/native/src/api.cpp.o.d"
  "/work/wt-g3/native/src/device.cpp" "CMakeFiles/offload_core.dir/native/src/device.cpp.o" "gcc" "CMakeFiles/offload_core.dir/native/src/device.cpp.o.d"
  "/work/wt-g3/native/src/disk/disk_pipeline.cpp" "CMakeFiles/offload_core.dir/native/src/disk/disk_pipeline.cpp.o" "gcc" "CMakeFiles/offload_core.dir/native/src/disk/disk_pipeline.cpp.o.d"
  "/work/wt-g3/native/src/disk/disk_reader.cpp" "CMakeFiles/offload_core.dir/native/src/disk/disk_reader.cpp.o" "gcc" "CMakeFiles/offload_core.dir/native/src/disk/disk_reader.cpp.o.d"
  "/work/wt-g3/native/src/host/device_arena.cpp" "CMakeFiles/offload_core.dir/native/src/host/device_arena.cpp.o" "gcc" "CMakeFiles/offload_core.dir/native/src/host/device_arena.cpp.o.d"
  "/work/wt-g3/native/src/host/host_backend.cpp" "CMakeFiles/offload_core.dir/native/src/host/host_backend.cpp.o" "gcc" "CMakeFiles/offload_core.dir/native/src/host/host_backend.cpp.o.d"
  "/work/wt-g3/native/src/host/host_stream.cpp" "CMakeFiles/offload_core.dir/native/src/host/host_stream.cpp.o" "gcc" "CMakeFiles/offload_core.dir/native/src/host/host_stream.cpp.o.d"
  "/work/wt-g3/native/src/memory/device_ledger.cpp" "CMakeFiles/offload_core.dir/native/src/memory/device_ledger.cpp.o" "gcc" "CMakeFiles/offload_core.dir/native/src/memory/device_ledger.cpp.o.d"
  "/work/wt-g3/native/src/memory/pinned_registry.cpp" "CMakeFiles/offload_core.dir/native/src/memory/pinned_registry.cpp.o" "gcc" "CMakeFiles/offload_core.dir/native/src/memory/pinned_registry.cpp.o.d"
  "/work/wt-g3/native/src/memory/region_allocator.cpp" "CMakeFiles/offload_core.dir/native/src/memory/region_allocator.cpp.o" "gcc" "CMakeFiles/offload_core.dir/native/src/memory/region_allocator.cpp.o.d"
  "/work/wt-g3/native/src/prefetch/engine.cpp" "CMakeFiles/offload_core.dir/native/src/prefetch/engine.cpp.o" "gcc" "CMakeFiles/offload_core.dir/native/src/prefetch/engine.cpp.o.d"
  "/work/wt-g3/native/src/prefetch/engine_disk.cpp" "CMakeFiles/offload_core.dir/native/src/prefetch/engine_disk.cpp.o" "gcc" "CMakeFiles/offload_core.dir/native/src/prefetch/engine_disk.cpp.o.d"
  "/work/wt-g3/native/src/prefetch/engine_end.cpp" "CMakeFiles/offload_core.dir/native/src/prefetch/engine_end.cpp.o" "gcc" "CMakeFiles/offload_core.dir/native/src/prefetch/engine_end.cpp.o.d"
  "/work/wt-g3/native/src/stream_body.cpp" "CMakeFiles/offload_core.dir/native/src/stream_body.cpp.o" "gcc" "CMakeFiles/offload_core.dir/native/src/stream_body.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
