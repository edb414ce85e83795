# ctest `cpp_consumer`: installs this build into a scratch prefix and builds examples/cpp-consumer
# against it as an outside project would (find_package + tensorferry::tensorferry), then runs it.
# A sanitized build's libraries need the same sanitizer flags in the consumer's link.
set(consumer_flags "")
if(TENSORFERRY_SANITIZE OR TENSORFERRY_FUZZ)
  set(consumer_flags "-fsanitize=address,undefined")
endif()
add_test(NAME cpp_consumer
         COMMAND ${CMAKE_COMMAND}
                 -DBUILD_DIR=${CMAKE_CURRENT_BINARY_DIR}
                 -DSOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}
                 -DCXX=${CMAKE_CXX_COMPILER}
                 -DFLAGS=${consumer_flags}
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/run_consumer_test.cmake)
set_tests_properties(cpp_consumer PROPERTIES TIMEOUT 600)
