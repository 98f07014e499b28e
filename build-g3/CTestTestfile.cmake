# CMake generated Testfile for 
# Source directory: /work/wt-g3
# Build directory: /work/wt-g3/build-g3
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[test_devices]=] "/work/wt-g3/build-g3/test_devices")
set_tests_properties([=[test_devices]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/wt-g3/CMakeLists.txt;137;add_test;/work/wt-g3/CMakeLists.txt;0;")
add_test([=[test_disk]=] "/work/wt-g3/build-g3/test_disk")
set_tests_properties([=[test_disk]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/wt-g3/CMakeLists.txt;137;add_test;/work/wt-g3/CMakeLists.txt;0;")
add_test([=[test_disk_callbacks]=] "/work/wt-g3/build-g3/test_disk_callbacks")
set_tests_properties([=[test_disk_callbacks]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/wt-g3/CMakeLists.txt;137;add_test;/work/wt-g3/CMakeLists.txt;0;")
add_test([=[test_disk_retire]=] "/work/wt-g3/build-g3/test_disk_retire")
set_tests_properties([=[test_disk_retire]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/wt-g3/CMakeLists.txt;137;add_test;/work/wt-g3/CMakeLists.txt;0;")
add_test([=[test_engine]=] "/work/wt-g3/build-g3/test_engine")
set_tests_properties([=[test_engine]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/wt-g3/CMakeLists.txt;137;add_test;/work/wt-g3/CMakeLists.txt;0;")
add_test([=[test_handles]=] "/work/wt-g3/build-g3/test_handles")
set_tests_properties([=[test_handles]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/wt-g3/CMakeLists.txt;137;add_test;/work/wt-g3/CMakeLists.txt;0;")
add_test([=[test_host_copy_free]=] "/work/wt-g3/build-g3/test_host_copy_free")
set_tests_properties([=[test_host_copy_free]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/wt-g3/CMakeLists.txt;137;add_test;/work/wt-g3/CMakeLists.txt;0;")
add_test([=[test_host_events]=] "/work/wt-g3/build-g3/test_host_events")
set_tests_properties([=[test_host_events]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/wt-g3/CMakeLists.txt;137;add_test;/work/wt-g3/CMakeLists.txt;0;")
add_test([=[test_regions]=] "/work/wt-g3/build-g3/test_regions")
set_tests_properties([=[test_regions]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/wt-g3/CMakeLists.txt;137;add_test;/work/wt-g3/CMakeLists.txt;0;")
add_test([=[test_strict_host]=] "/work/wt-g3/build-g3/test_strict_host")
set_tests_properties([=[test_strict_host]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/wt-g3/CMakeLists.txt;137;add_test;/work/wt-g3/CMakeLists.txt;0;")
add_test([=[test_strict_ranges]=] "/work/wt-g3/build-g3/test_strict_ranges")
set_tests_properties([=[test_strict_ranges]=] PROPERTIES  _BACKTRACE_TRIPLES "/work/wt-g3/CMakeLists.txt;137;add_test;/work/wt-g3/CMakeLists.txt;0;")
