# Run by ctest (cmake/consumer_test.cmake): install, configure, build and run the consumer.
set(work ${BUILD_DIR}/cpp-consumer-test)
file(REMOVE_RECURSE ${work})
set(prefix ${work}/prefix)

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(output "${out}" PARENT_SCOPE)
endfunction()

run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} --component dev)
run("configure" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/cpp-consumer -B ${work}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX} "-DCMAKE_CXX_FLAGS=${FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${FLAGS}")
run("build" ${CMAKE_COMMAND} --build ${work}/build)
run("run" ${work}/build/consumer ${SOURCE_DIR}/examples/gpt2-tiny/pytorch_model.bin
    ${work}/model.safetensors)
message("${output}")
foreach(expected "pytorch: 29 tensors" "transformer.wte.weight f32 [400, 32]"
                 "\"kind\":\"container\"" "safetensors: 29 tensors" "bad input: ")
  string(FIND "${output}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the consumer did not print '${expected}'")
  endif()
endforeach()
