// Package ptx assembles OpenCL C programs for NVIDIA GPUs without a GPU,
// so that tests can check what NVIDIA's own assembler makes of them:
// whether every function resolves, how many registers a kernel uses,
// whether it spills, how much shared (OpenCL local) memory it declares.
//
// The pipeline is clang's OpenCL front end and NVPTX back end with the
// OpenCL built-ins of libclc, then NVIDIA's PTX assembler:
//
//	clang -x cl -cl-std=CL2.0 -target nvptx64-nvidia-nvcl -Xclang -finclude-default-header \
//	      -Xclang -target-cpu -Xclang sm_80 -O2 -emit-llvm -c OPTIONS src.cl
//	llvm-link --only-needed src.bc nvptx64--nvidiacl.bc | opt -O3 | llc -mcpu=sm_80 -mattr=+ptx70
//	ptxas -arch=sm_90 -v
//
// The tools are found by Find: clang, llvm-link, opt and llc of LLVM 15
// (Debian's clang-15 and llvm-15) or the unversioned names, libclc's
// nvptx64--nvidiacl.bc (Debian's libclc-15), and ptxas from $DENSECL_PTXAS,
// the PATH, or the nvidia-cuda-toolkit package unpacked under the user's
// cache directory (scripts/ci/ptx.sh puts it there).
//
// clang's front end is not NVIDIA's: NVIDIA's OpenCL compiler will count
// registers differently. The figures are a proxy that catches gross
// errors (an unresolved function, a kernel that spills or cannot launch
// at its work-group size) and trends; a GPU run decides.
package ptx
