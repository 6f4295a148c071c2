// Implicit-GEMM 2-D convolution, NCHW, for tinygrad_lite (see docs/kernels.md).
//
// Every pass is one GEMM per group; the operand tiles are gathered straight from the tensors
// (no im2col buffer) into shared memory and multiplied by tl::BlockAcc:
//   PASS_FWD    y  [M = N*P*Q, N = K/G]       = A(n,p,q ; c,r,s) x B(c,r,s ; k),  K = C/G*R*S
//   PASS_DGRAD  dx [M = N*H*W, N = C/G]       = A(n,h,w ; k,r,s) x B(k,r,s ; c),  K = K/G*R*S
//   PASS_WGRAD  dw [M = K/G,   N = C/G*R*S]   = A(k ; n,p,q)     x B(n,p,q ; c,r,s), K = N*P*Q
// with h = p*stride - pad + r*dilation. The weight gradient's long reduction is split across
// gridDim.z (split-K); each split adds its partial tile into a float32 buffer with atomicAdd.
// Groups are a grid axis. Accumulation is float32 for every storage type.
#include "tile_mma.cuh"

namespace tl {

constexpr int CONV_BM = 64, CONV_BN = 64, CONV_BK = 32, CONV_NT = 128;
enum { PASS_FWD = 0, PASS_DGRAD = 1, PASS_WGRAD = 2 };

struct ConvShape {
    int N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw, dh, dw, G, Cg, Kg;
};

// A(m, k) of the pass's GEMM for group g, 0 outside the tensor (padding, tails, stride holes).
template <typename T, int PASS>
__device__ __forceinline__ T gather_a(const T* __restrict__ src, const ConvShape& s, int g,
                                      int m, int k, int GM, int GK) {
    if (m >= GM || k >= GK) return from_f<T>(0.0f);
    const int RS = s.R * s.S;
    if (PASS == PASS_FWD) {            // x[n, g*Cg + c, h, w]
        const int q = m % s.Q, t = m / s.Q, p = t % s.P, n = t / s.P;
        const int ss = k % s.S, t2 = k / s.S, r = t2 % s.R, c = t2 / s.R;
        const int h = p * s.sh - s.ph + r * s.dh, w = q * s.sw - s.pw + ss * s.dw;
        if (h < 0 || h >= s.H || w < 0 || w >= s.W) return from_f<T>(0.0f);
        return src[((n * s.C + g * s.Cg + c) * s.H + h) * s.W + w];
    } else if (PASS == PASS_DGRAD) {   // dy[n, g*Kg + kk, p, q], p = (h + ph - r*dh) / sh exactly
        const int w = m % s.W, t = m / s.W, h = t % s.H, n = t / s.H;
        const int ss = k % s.S, r = (k / s.S) % s.R, kk = k / RS;
        const int pn = h + s.ph - r * s.dh, qn = w + s.pw - ss * s.dw;
        if (pn < 0 || qn < 0 || pn % s.sh || qn % s.sw) return from_f<T>(0.0f);
        const int p = pn / s.sh, q = qn / s.sw;
        if (p >= s.P || q >= s.Q) return from_f<T>(0.0f);
        return src[((n * s.K + g * s.Kg + kk) * s.P + p) * s.Q + q];
    } else {                           // dy[n, g*Kg + m, p, q] with k = (n, p, q)
        const int q = k % s.Q, t = k / s.Q, p = t % s.P, n = t / s.P;
        return src[((n * s.K + g * s.Kg + m) * s.P + p) * s.Q + q];
    }
}

// B(k, j) of the pass's GEMM for group g.
template <typename T, int PASS>
__device__ __forceinline__ T gather_b(const T* __restrict__ src, const ConvShape& s, int g,
                                      int k, int j, int GK, int GN) {
    if (k >= GK || j >= GN) return from_f<T>(0.0f);
    const int RS = s.R * s.S;
    if (PASS == PASS_FWD) {            // w[g*Kg + j, c, r, s], k = (c, r, s) is contiguous
        return src[(g * s.Kg + j) * GK + k];
    } else if (PASS == PASS_DGRAD) {   // w[g*Kg + kk, j, r, s] with k = (kk, r, s)
        const int rs = k % RS, kk = k / RS;
        return src[((g * s.Kg + kk) * s.Cg + j) * RS + rs];
    } else {                           // x[n, g*Cg + c, h, w] with k = (n,p,q), j = (c,r,s)
        const int q = k % s.Q, t = k / s.Q, p = t % s.P, n = t / s.P;
        const int ss = j % s.S, t2 = j / s.S, r = t2 % s.R, c = t2 / s.R;
        const int h = p * s.sh - s.ph + r * s.dh, w = q * s.sw - s.pw + ss * s.dw;
        if (h < 0 || h >= s.H || w < 0 || w >= s.W) return from_f<T>(0.0f);
        return src[((n * s.C + g * s.Cg + c) * s.H + h) * s.W + w];
    }
}

template <typename T, int MODE, int PASS>
__device__ __forceinline__ void conv_igemm_body(const T* __restrict__ a_src,
                                                const T* __restrict__ b_src, T* __restrict__ out,
                                                float* __restrict__ out_acc, const ConvShape& s,
                                                int k_per_split) {
    constexpr int BM = CONV_BM, BN = CONV_BN, BK = CONV_BK, NT = CONV_NT;
    constexpr int LDA = BK + PAD, LDB = BK + PAD, LDC = BN + PAD;
    constexpr int AB_BYTES = (BM * LDA + BN * LDB) * int(sizeof(T));
    constexpr int C_BYTES = BM * LDC * int(sizeof(float));
    __shared__ __align__(128) unsigned char smem[AB_BYTES > C_BYTES ? AB_BYTES : C_BYTES];
    T* As = reinterpret_cast<T*>(smem);            // A(m, k) at As[m*LDA + k]
    T* Bs = As + BM * LDA;                         // B(k, j) at Bs[j*LDB + k]  (column-major)
    float* Cs = reinterpret_cast<float*>(smem);    // the finished tile, after the K loop

    int GM, GN, GK;
    if (PASS == PASS_FWD) { GM = s.N * s.P * s.Q; GN = s.Kg; GK = s.Cg * s.R * s.S; }
    else if (PASS == PASS_DGRAD) { GM = s.N * s.H * s.W; GN = s.Cg; GK = s.Kg * s.R * s.S; }
    else { GM = s.Kg; GN = s.Cg * s.R * s.S; GK = s.N * s.P * s.Q; }
    const int g = blockIdx.z % s.G, split = blockIdx.z / s.G;
    const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
    const int k_begin = split * k_per_split;
    const int k_end = min(GK, k_begin + k_per_split);

    BlockAcc<T, MODE, BM, BN, NT> acc;
    acc.zero();
    for (int k0 = k_begin; k0 < k_end; k0 += BK) {
        // A: consecutive threads walk m (contiguous along w / q) except in wgrad, where k is.
#pragma unroll 1
        for (int e = threadIdx.x; e < BM * BK; e += NT) {
            const int mi = PASS == PASS_WGRAD ? e / BK : e % BM;
            const int ki = PASS == PASS_WGRAD ? e % BK : e / BM;
            const int kg = k0 + ki;
            As[mi * LDA + ki] = gather_a<T, PASS>(a_src, s, g, m0 + mi, kg < k_end ? kg : GK, GM, GK);
        }
#pragma unroll 1
        for (int e = threadIdx.x; e < BN * BK; e += NT) {
            const int ki = e % BK, ji = e / BK;
            const int kg = k0 + ki;
            Bs[ji * LDB + ki] = gather_b<T, PASS>(b_src, s, g, kg < k_end ? kg : GK, n0 + ji, GK, GN);
        }
        __syncthreads();
        acc.template mma<true, false>(As, LDA, Bs, LDB, BK);
        __syncthreads();
    }
    acc.store(Cs, LDC);
    __syncthreads();
    if (PASS == PASS_WGRAD) {          // dw[g*Kg + m, j] += tile; j is contiguous
        for (int e = threadIdx.x; e < BM * BN; e += NT) {
            const int mi = e / BN, ji = e % BN;
            const int m = m0 + mi, j = n0 + ji;
            if (m < GM && j < GN) atomicAdd(out_acc + (g * s.Kg + m) * GN + j, Cs[mi * LDC + ji]);
        }
    } else {                           // y[n, g*Kg + j, p, q] or dx[n, g*Cg + j, h, w]
        const int plane = PASS == PASS_FWD ? s.P * s.Q : s.H * s.W;
        const int chans = PASS == PASS_FWD ? s.K : s.C;
        for (int e = threadIdx.x; e < BM * BN; e += NT) {
            const int mi = e % BM, ji = e / BM;
            const int m = m0 + mi, j = n0 + ji;
            if (m < GM && j < GN) {
                const int n = m / plane, pq = m % plane;
                out[(n * chans + g * GN + j) * plane + pq] = from_f<T>(Cs[mi * LDC + ji]);
            }
        }
    }
}

}  // namespace tl

// Launch: grid (ceil(GM/64), ceil(GN/64), G * splits), block 128, no dynamic shared memory.
template <typename T, int MODE, int PASS>
__global__ void __launch_bounds__(tl::CONV_NT, 4)
conv2d_igemm(const T* __restrict__ a_src, const T* __restrict__ b_src, T* __restrict__ out,
             float* __restrict__ out_acc, int N, int C, int H, int W, int K, int R, int S, int P,
             int Q, int sh, int sw, int ph, int pw, int dh, int dw, int G, int k_per_split) {
    const tl::ConvShape s{N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw, dh, dw, G, C / G, K / G};
    tl::conv_igemm_body<T, MODE, PASS>(a_src, b_src, out, out_acc, s, k_per_split);
}

// out[i] = T(acc[i]): the split-K weight gradient back to the storage type.
template <typename T>
__global__ void conv2d_cast(const float* __restrict__ acc, T* __restrict__ out, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        out[i] = tl::from_f<T>(acc[i]);
}

#ifdef TL_INSTANTIATE_ALL
// nvcc builds (ptxas reports, sanitizer runs); CuPy instantiates by name_expressions instead.
#define TL_CONV(T, MODE)                                                                       \
    template __global__ void conv2d_igemm<T, MODE, 0>(const T*, const T*, T*, float*, int, int, \
        int, int, int, int, int, int, int, int, int, int, int, int, int, int, int);              \
    template __global__ void conv2d_igemm<T, MODE, 1>(const T*, const T*, T*, float*, int, int, \
        int, int, int, int, int, int, int, int, int, int, int, int, int, int, int);              \
    template __global__ void conv2d_igemm<T, MODE, 2>(const T*, const T*, T*, float*, int, int, \
        int, int, int, int, int, int, int, int, int, int, int, int, int, int, int);
TL_CONV(float, 0)
TL_CONV(float, 1)
TL_CONV(__half, 2)
TL_CONV(__nv_bfloat16, 2)
template __global__ void conv2d_cast<__half>(const float*, __half*, int);
template __global__ void conv2d_cast<__nv_bfloat16>(const float*, __nv_bfloat16*, int);
#endif
