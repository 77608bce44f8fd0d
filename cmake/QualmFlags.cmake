# Compiler flags shared by every qualm target.
#
# Arithmetic must never depend on a build flag, so:
#  * -ffp-contract=off everywhere: no silent a*b+c -> fma contraction. The
#    float reference path is then the same bits on every x86-64 machine.
#  * never tune for the build machine. Code that uses an ISA extension lives in its own
#    translation unit and gets that ISA's flags with qualm_isa_sources();
#    the CPU is detected once at run time (kernels/cpu.h).
add_library(qualm_warnings INTERFACE)
# -Wshadow=local is GCC's spelling (clang, used by the sanitize preset, does not know it).
target_compile_options(qualm_warnings INTERFACE
  -Wall -Wextra $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local> -Wno-unused-parameter -ffp-contract=off -fno-math-errno)
if(QUALM_WERROR)
  target_compile_options(qualm_warnings INTERFACE -Werror)
endif()

# qualm_isa_sources(<isa> <file>...): give the per-ISA flags to these files.
function(qualm_isa_sources isa)
  if(isa STREQUAL "avx2")
    set(flags "-mavx2;-mfma;-mf16c")
  elseif(isa STREQUAL "avxvnni")
    set(flags "-mavxvnni;-mavx2;-mfma;-mf16c")
  elseif(isa STREQUAL "avx512")
    set(flags "-mavx512f;-mavx512bw;-mavx512dq;-mavx512vl;-mavx2;-mfma;-mf16c")
  elseif(isa STREQUAL "avx512vnni")
    set(flags "-mavx512f;-mavx512bw;-mavx512dq;-mavx512vl;-mavx512vnni;-mavx2;-mfma;-mf16c")
  else()
    message(FATAL_ERROR "unknown ISA '${isa}'")
  endif()
  set_source_files_properties(${ARGN} PROPERTIES COMPILE_OPTIONS "${flags}")
endfunction()
