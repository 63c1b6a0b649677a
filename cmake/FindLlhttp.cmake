# Finds llhttp as shipped by Debian's node-llhttp package: C sources in
# /usr/share/llhttp and the header in /usr/share/include/llhttp. Debian ships no
# compiled library, so we build a small static one here (PIC, warnings off: it is
# generated code we do not own).
find_path(LLHTTP_INCLUDE_DIR llhttp.h
  HINTS /usr/share/include/llhttp /usr/include/llhttp /usr/include)
find_path(LLHTTP_SOURCE_DIR llhttp.c
  HINTS /usr/share/llhttp)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Llhttp REQUIRED_VARS LLHTTP_INCLUDE_DIR LLHTTP_SOURCE_DIR)

if(Llhttp_FOUND AND NOT TARGET llhttp::llhttp)
  add_library(bg_llhttp STATIC
    ${LLHTTP_SOURCE_DIR}/llhttp.c
    ${LLHTTP_SOURCE_DIR}/api.c
    ${LLHTTP_SOURCE_DIR}/http.c)
  set_target_properties(bg_llhttp PROPERTIES POSITION_INDEPENDENT_CODE ON C_STANDARD 99)
  target_include_directories(bg_llhttp SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
  target_compile_options(bg_llhttp PRIVATE -w)
  add_library(llhttp::llhttp ALIAS bg_llhttp)
endif()
