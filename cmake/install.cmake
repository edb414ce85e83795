# `cmake --install build` (component "dev"): the C++ package other projects use with
#   find_package(tensorferry) + target_link_libraries(app tensorferry::tensorferry)
# Installed: the public headers (include/tensorferry/), the core headers they include (under
# include/tensorferry/internal/, which the package adds to the include path), the static libraries
# libtensorferry.a and libtensorferry_core.a, the CMake package, and the JSON schemas of the
# reports. The `tensorferry` binary is installed too (component "cli").
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set_target_properties(tensorferry_lib PROPERTIES OUTPUT_NAME tensorferry_core EXPORT_NAME core)
set(TENSORFERRY_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tensorferry)

install(TARGETS tensorferry RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)
install(TARGETS tensorferry_library tensorferry_lib EXPORT tensorferryTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(DIRECTORY include/tensorferry DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
# What the public headers include of the core: a closed set of headers that need only the
# standard library (and <sys/types.h>).
foreach(header core/checkpoint.h core/direct_input.h core/dtype.h core/error.h core/progress.h
               core/tensor.h formats/registry.h)
  get_filename_component(folder ${header} DIRECTORY)
  install(FILES ${header}
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tensorferry/internal/${folder} COMPONENT dev)
endforeach()
install(DIRECTORY docs/schemas/ DESTINATION ${CMAKE_INSTALL_DATADIR}/tensorferry/schemas
        COMPONENT dev)
install(EXPORT tensorferryTargets NAMESPACE tensorferry:: DESTINATION ${TENSORFERRY_CMAKE_DIR}
        COMPONENT dev)
configure_package_config_file(cmake/tensorferryConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/tensorferryConfig.cmake
                              INSTALL_DESTINATION ${TENSORFERRY_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/tensorferryConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tensorferryConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/tensorferryConfigVersion.cmake
        DESTINATION ${TENSORFERRY_CMAKE_DIR} COMPONENT dev)
