// Block-wide GEMM on shared-memory tiles, shared by conv2d.cu and attention.cu.
//
// One source for nvcc and NVRTC: device headers only, __device__ on every helper, no host
// macros (INFINITY, FLT_MAX, ...); a host include would go behind #ifndef __CUDACC_RTC__.
// BlockAcc<T, MODE, M, N, NT> is an M x N float32 accumulator spread over the NT threads of a block:
//   MODE_HALF  (T = __half / __nv_bfloat16): tensor cores through WMMA (mma.sync m16n16k16)
//   MODE_TF32  (T = float): tensor cores on TF32-rounded operands (mma.sync m16n16k8)
//   MODE_EXACT (T = float): plain FFMA in float32, for the "exact float32" switch
// Operands live in shared memory. A(m, k) sits at A[m*lda + k] when A_ROW, else at A[k*lda + m];
// B(k, n) sits at B[k*ldb + n] when B_ROW, else at B[n*ldb + k], so transposes cost nothing.
// WMMA wants 32-byte aligned tile starts and ld a multiple of 16 bytes: pad rows by 8 elements.
#pragma once

#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <mma.h>

namespace tl {

enum { MODE_EXACT = 0, MODE_TF32 = 1, MODE_HALF = 2 };
constexpr int PAD = 8;   // elements added to every shared-memory row

// +infinity for device code. INFINITY is a <math.h> macro: nvcc sees it through the host headers,
// NVRTC has none, so both compilers get the IEEE-754 bit pattern instead.
__device__ __forceinline__ float inf_f() { return __int_as_float(0x7f800000); }

__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ float to_f(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T> __device__ __forceinline__ T from_f(float x);
template <> __device__ __forceinline__ float from_f<float>(float x) { return x; }
template <> __device__ __forceinline__ __half from_f<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float x) {
    return __float2bfloat16_rn(x);
}

template <typename T, int MODE> struct MmaTraits;
template <> struct MmaTraits<float, MODE_TF32> {
    static constexpr int KK = 8;
    using E = nvcuda::wmma::precision::tf32;
};
template <> struct MmaTraits<__half, MODE_HALF> {
    static constexpr int KK = 16;
    using E = __half;
};
template <> struct MmaTraits<__nv_bfloat16, MODE_HALF> {
    static constexpr int KK = 16;
    using E = __nv_bfloat16;
};

template <bool ROW> struct WLayout { using type = nvcuda::wmma::row_major; };
template <> struct WLayout<false> { using type = nvcuda::wmma::col_major; };

// Tensor-core accumulator: the (M/16)*(N/16) output fragments are dealt round-robin to the warps.
template <typename T, int MODE, int M, int N, int NT>
struct BlockAcc {
    static constexpr int NW = NT / 32;
    static constexpr int TN = N / 16;
    static constexpr int PER = (M / 16) * TN / NW;
    static_assert(M % 16 == 0 && N % 16 == 0 && ((M / 16) * TN) % NW == 0, "tile shape");
    using Tr = MmaTraits<T, MODE>;
    nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, Tr::KK, float> c[PER];

    __device__ __forceinline__ void zero() {
#pragma unroll
        for (int i = 0; i < PER; ++i) nvcuda::wmma::fill_fragment(c[i], 0.0f);
    }
    __device__ __forceinline__ void load(const float* C, int ldc) {
        const int w = threadIdx.x / 32;
#pragma unroll
        for (int i = 0; i < PER; ++i) {
            const int t = w + i * NW;
            nvcuda::wmma::load_matrix_sync(c[i], C + (t / TN) * 16 * ldc + (t % TN) * 16, ldc,
                                           nvcuda::wmma::mem_row_major);
        }
    }
    __device__ __forceinline__ void store(float* C, int ldc) const {
        const int w = threadIdx.x / 32;
#pragma unroll
        for (int i = 0; i < PER; ++i) {
            const int t = w + i * NW;
            nvcuda::wmma::store_matrix_sync(C + (t / TN) * 16 * ldc + (t % TN) * 16, c[i], ldc,
                                            nvcuda::wmma::mem_row_major);
        }
    }
    // C += A[M x K] * B[K x N]; K a multiple of 16
    template <bool A_ROW, bool B_ROW>
    __device__ __forceinline__ void mma(const T* A, int lda, const T* B, int ldb, int K) {
        using namespace nvcuda;
        const int w = threadIdx.x / 32;
#pragma unroll
        for (int i = 0; i < PER; ++i) {
            const int t = w + i * NW;
            const int m0 = (t / TN) * 16, n0 = (t % TN) * 16;
#pragma unroll 1
            for (int k = 0; k < K; k += Tr::KK) {
                wmma::fragment<wmma::matrix_a, 16, 16, Tr::KK, typename Tr::E,
                               typename WLayout<A_ROW>::type> a;
                wmma::fragment<wmma::matrix_b, 16, 16, Tr::KK, typename Tr::E,
                               typename WLayout<B_ROW>::type> b;
                wmma::load_matrix_sync(a, A_ROW ? A + m0 * lda + k : A + k * lda + m0, lda);
                wmma::load_matrix_sync(b, B_ROW ? B + k * ldb + n0 : B + n0 * ldb + k, ldb);
                if constexpr (MODE == MODE_TF32) {
#pragma unroll
                    for (int e = 0; e < a.num_elements; ++e) a.x[e] = wmma::__float_to_tf32(a.x[e]);
#pragma unroll
                    for (int e = 0; e < b.num_elements; ++e) b.x[e] = wmma::__float_to_tf32(b.x[e]);
                }
                wmma::mma_sync(c[i], a, b, c[i]);
            }
        }
    }
};

// Exact float32: thread t owns elements t, t + NT, t + 2*NT, ... of the row-major M x N tile.
template <int M, int N, int NT>
struct BlockAcc<float, MODE_EXACT, M, N, NT> {
    static constexpr int PER = M * N / NT;
    static_assert((M * N) % NT == 0 && NT % N == 0, "exact tile shape");
    static constexpr int RSTEP = NT / N;   // rows between a thread's consecutive elements
    float c[PER];

    __device__ __forceinline__ void zero() {
#pragma unroll
        for (int i = 0; i < PER; ++i) c[i] = 0.0f;
    }
    __device__ __forceinline__ void load(const float* C, int ldc) {
        const int r0 = threadIdx.x / N, col = threadIdx.x % N;
#pragma unroll
        for (int i = 0; i < PER; ++i) c[i] = C[(r0 + i * RSTEP) * ldc + col];
    }
    __device__ __forceinline__ void store(float* C, int ldc) const {
        const int r0 = threadIdx.x / N, col = threadIdx.x % N;
#pragma unroll
        for (int i = 0; i < PER; ++i) C[(r0 + i * RSTEP) * ldc + col] = c[i];
    }
    template <bool A_ROW, bool B_ROW>
    __device__ __forceinline__ void mma(const float* A, int lda, const float* B, int ldb, int K) {
        const int r0 = threadIdx.x / N, col = threadIdx.x % N;
#pragma unroll 2
        for (int k = 0; k < K; ++k) {
            const float b = B_ROW ? B[k * ldb + col] : B[col * ldb + k];
#pragma unroll
            for (int i = 0; i < PER; ++i) {
                const int m = r0 + i * RSTEP;
                c[i] = fmaf(A_ROW ? A[m * lda + k] : A[k * lda + m], b, c[i]);
            }
        }
    }
};

}  // namespace tl
