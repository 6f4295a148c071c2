// FlashAttention-2-style scaled dot-product attention for tinygrad_lite (see docs/kernels.md).
//
// Layout: q, o, do, dq [B, H, Lq, D]; k, v, dk, dv [B, H, Lk, D], contiguous; lse, delta [B, H, Lq]
// float32. D is 32, 64 or 128. Causal masking is top-left aligned (query i sees keys j <= i, as
// torch's is_causal); kv_len (optional, one int per batch entry) hides keys j >= kv_len[b].
// Scores are kept in log2 units (scale * log2(e) folded in) so the kernels use exp2f.
//
// Forward (FlashAttention-2, Algorithm 1): a block owns BM query rows of one (b, h); for every
// BN-key tile: S = Q K^T, running max m, P = exp2(S - m), l = l*alpha + rowsum P, O = O*alpha + P V;
// finally O /= l and only O and LSE = (m + log2 l) / log2 e are written.
// Backward (Algorithm 2): delta = rowsum(dO * O) first; then a block owns BN keys and sweeps the
// query tiles: P = exp2(S - LSE), dV += P^T dO, dP = dO V^T, dS = P (dP - delta), dK += dS^T Q,
// dQ += dS K (float32 atomics into a workspace).
// Causal: key tiles wholly above the diagonal are skipped, only diagonal and tail tiles are masked.
// A row that sees no key keeps l = 0: O = 0, LSE = -inf, and its P is 0 in backward (never NaN).
#include "tile_mma.cuh"

namespace tl {

constexpr float LOG2E_F = 1.4426950408889634f;

// rows x D tile of a [L, D] matrix into shared memory (row stride D + PAD), zero past `valid` rows.
template <typename T, int D, int NT>
__device__ __forceinline__ void load_rows(T* __restrict__ dst, const T* __restrict__ src, int rows,
                                          int valid) {
    constexpr int VEC = 16 / int(sizeof(T));       // 16-byte vectors
    constexpr int PER_ROW = D / VEC;
    for (int e = threadIdx.x; e < rows * PER_ROW; e += NT) {
        const int r = e / PER_ROW, c = (e % PER_ROW) * VEC;
        uint4 val = make_uint4(0u, 0u, 0u, 0u);
        if (r < valid) val = *reinterpret_cast<const uint4*>(src + r * D + c);
        *reinterpret_cast<uint4*>(dst + r * (D + PAD) + c) = val;
    }
}

template <typename T, int D, int BM, int BN>
struct FwdSmem {   // dynamic shared-memory layout of attn_fwd, in bytes
    static constexpr int LDT = D + PAD, LDS = BN + PAD, LDO = D + PAD;
    static constexpr int Q = 0;
    static constexpr int K = Q + BM * LDT * int(sizeof(T));
    static constexpr int V = K + BN * LDT * int(sizeof(T));
    static constexpr int S = V + BN * LDT * int(sizeof(T));
    static constexpr bool ALIAS = sizeof(T) == 4;    // float P overwrites S in place
    static constexpr int P = ALIAS ? S : S + BM * LDS * 4;
    static constexpr int O = S + BM * LDS * 4 + (ALIAS ? 0 : BM * LDS * int(sizeof(T)));
    static constexpr int STATS = O + BM * LDO * 4;                               // m, l, alpha
    static constexpr int BYTES = STATS + 3 * BM * 4;
    static_assert(BYTES <= 227 * 1024, "attn_fwd shared memory");
};

template <typename T, int D, int BM, int BN>
struct BwdSmem {   // dynamic shared-memory layout of attn_bwd, in bytes
    static constexpr int LDT = D + PAD, LDS = BN + PAD;
    static constexpr int K = 0;
    static constexpr int V = K + BN * LDT * int(sizeof(T));
    static constexpr int Q = V + BN * LDT * int(sizeof(T));
    static constexpr int DO = Q + BM * LDT * int(sizeof(T));
    static constexpr int S = DO + BM * LDT * int(sizeof(T));
    static constexpr int DP = S + BM * LDS * 4;
    static constexpr bool ALIAS = sizeof(T) == 4;    // float P, dS overwrite S, dP in place
    static constexpr int P = ALIAS ? S : DP + BM * LDS * 4;
    static constexpr int DS = ALIAS ? DP : P + BM * LDS * int(sizeof(T));
    static constexpr int ACC = DP + BM * LDS * 4 + (ALIAS ? 0 : 2 * BM * LDS * int(sizeof(T)));
    static constexpr int ROWS = BM > BN ? BM : BN;
    static constexpr int STATS = ACC + ROWS * LDT * 4;                           // lse, delta
    static constexpr int BYTES = STATS + 2 * BM * 4;
    static_assert(BYTES <= 227 * 1024, "attn_bwd shared memory");
};

}  // namespace tl

// grid (ceil(Lq / BM), B * H), block NT, dynamic shared memory FwdSmem::BYTES.
template <typename T, int MODE, int D, int BM, int BN, int NT>
__global__ void __launch_bounds__(NT, 2)
attn_fwd(const T* __restrict__ Qg, const T* __restrict__ Kg, const T* __restrict__ Vg,
         T* __restrict__ Og, float* __restrict__ LSEg, const int* __restrict__ kv_len, int H,
         int Lq, int Lk, float scale_log2, int causal) {
    using namespace tl;
    using L = FwdSmem<T, D, BM, BN>;
    constexpr int NW = NT / 32, LDT = L::LDT, LDS = L::LDS, LDO = L::LDO;
    extern __shared__ __align__(128) unsigned char smem[];
    T* Qs = reinterpret_cast<T*>(smem + L::Q);
    T* Ks = reinterpret_cast<T*>(smem + L::K);
    T* Vs = reinterpret_cast<T*>(smem + L::V);
    float* Ss = reinterpret_cast<float*>(smem + L::S);
    T* Ps = reinterpret_cast<T*>(smem + L::P);
    float* Os = reinterpret_cast<float*>(smem + L::O);
    float* m_s = reinterpret_cast<float*>(smem + L::STATS);
    float* l_s = m_s + BM;

    // heaviest causal tiles first
    const int m0 = (gridDim.x - 1 - blockIdx.x) * BM;
    const int bh = blockIdx.y, b = bh / H;
    const long long qoff = (long long)bh * Lq * D, koff = (long long)bh * Lk * D;
    const int kend = kv_len ? min(Lk, max(kv_len[b], 0)) : Lk;
    const int n_stop = causal ? min(kend, m0 + BM) : kend;

    load_rows<T, D, NT>(Qs, Qg + qoff + (long long)m0 * D, BM, Lq - m0);
    for (int e = threadIdx.x; e < BM * LDO; e += NT) Os[e] = 0.0f;
    for (int r = threadIdx.x; r < BM; r += NT) { m_s[r] = -inf_f(); l_s[r] = 0.0f; }
    __syncthreads();

    BlockAcc<T, MODE, BM, BN, NT> acc_s;
    BlockAcc<T, MODE, BM, D, NT> acc_o;
    for (int n0 = 0; n0 < n_stop; n0 += BN) {
        load_rows<T, D, NT>(Ks, Kg + koff + (long long)n0 * D, BN, kend - n0);
        load_rows<T, D, NT>(Vs, Vg + koff + (long long)n0 * D, BN, kend - n0);
        __syncthreads();
        acc_s.zero();
        acc_s.template mma<true, false>(Qs, LDT, Ks, LDT, D);    // S = Q K^T
        acc_s.store(Ss, LDS);
        __syncthreads();
        const bool need_mask = n0 + BN > kend || (causal && n0 + BN - 1 > m0);
        // online softmax: warp w owns rows w, w + NW, ...; lanes walk the columns
        for (int r = threadIdx.x / 32; r < BM; r += NW) {
            const int lane = threadIdx.x % 32, i = m0 + r;
            float s[BN / 32];
            float mx = -inf_f();
#pragma unroll
            for (int j = 0; j < BN / 32; ++j) {
                const int c = lane + 32 * j, col = n0 + c;
                float v = Ss[r * LDS + c] * scale_log2;
                if (need_mask && (col >= kend || (causal && col > i))) v = -inf_f();
                s[j] = v;
                mx = fmaxf(mx, v);
            }
#pragma unroll
            for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
            const float m_old = m_s[r];
            const float m_new = fmaxf(m_old, mx);
            const float m_use = m_new == -inf_f() ? 0.0f : m_new;   // finite: no (-inf) - (-inf)
            float sum = 0.0f;
#pragma unroll
            for (int j = 0; j < BN / 32; ++j) {
                const float p = exp2f(s[j] - m_use);
                const T pt = from_f<T>(p);
                sum += to_f(pt);
                Ps[r * LDS + lane + 32 * j] = pt;
            }
#pragma unroll
            for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
            const float alpha = exp2f(m_old - m_use);
#pragma unroll
            for (int j = 0; j < D / 32; ++j) Os[r * LDO + lane + 32 * j] *= alpha;
            __syncwarp();
            if (lane == 0) { m_s[r] = m_new; l_s[r] = l_s[r] * alpha + sum; }
        }
        __syncthreads();
        acc_o.load(Os, LDO);
        acc_o.template mma<true, true>(Ps, LDS, Vs, LDT, BN);     // O += P V
        acc_o.store(Os, LDO);
        __syncthreads();
    }
    // O = acc / l; LSE in natural-log units
    for (int e = threadIdx.x; e < BM * D; e += NT) {
        const int r = e / D, c = e % D;
        if (m0 + r < Lq) {
            const float l = l_s[r];
            Og[qoff + (long long)(m0 + r) * D + c] = from_f<T>(l > 0.0f ? Os[r * LDO + c] / l : 0.0f);
        }
    }
    for (int r = threadIdx.x; r < BM; r += NT) {
        if (m0 + r < Lq) {
            const float l = l_s[r];
            LSEg[(long long)bh * Lq + m0 + r] = l > 0.0f ? (m_s[r] + log2f(l)) / LOG2E_F : -inf_f();
        }
    }
}

// delta[row] = sum_d dO[row, d] * O[row, d]; one warp per row, grid ceil(rows / 8), block 256.
template <typename T, int D>
__global__ void __launch_bounds__(256)
attn_bwd_delta(const T* __restrict__ Og, const T* __restrict__ dOg, float* __restrict__ delta,
               int rows) {
    const int row = blockIdx.x * 8 + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= rows) return;
    float acc = 0.0f;
#pragma unroll
    for (int j = 0; j < D / 32; ++j) {
        const long long i = (long long)row * D + lane + 32 * j;
        acc += tl::to_f(Og[i]) * tl::to_f(dOg[i]);
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, off);
    if (lane == 0) delta[row] = acc;
}

// grid (ceil(Lk / BN), B * H), block NT, dynamic shared memory BwdSmem::BYTES.
// dq_acc is a zeroed float32 [B, H, Lq, D] workspace; dk, dv are written in full.
template <typename T, int MODE, int D, int BM, int BN, int NT>
__global__ void __launch_bounds__(NT, 1)
attn_bwd(const T* __restrict__ Qg, const T* __restrict__ Kg, const T* __restrict__ Vg,
         const T* __restrict__ dOg, const float* __restrict__ LSEg,
         const float* __restrict__ deltag, float* __restrict__ dQacc, T* __restrict__ dKg,
         T* __restrict__ dVg, const int* __restrict__ kv_len, int H, int Lq, int Lk, float scale,
         int causal) {
    using namespace tl;
    using L = BwdSmem<T, D, BM, BN>;
    constexpr int LDT = L::LDT, LDS = L::LDS;
    extern __shared__ __align__(128) unsigned char smem[];
    T* Ks = reinterpret_cast<T*>(smem + L::K);
    T* Vs = reinterpret_cast<T*>(smem + L::V);
    T* Qs = reinterpret_cast<T*>(smem + L::Q);
    T* dOs = reinterpret_cast<T*>(smem + L::DO);
    float* Ss = reinterpret_cast<float*>(smem + L::S);
    float* dPs = reinterpret_cast<float*>(smem + L::DP);
    T* Ps = reinterpret_cast<T*>(smem + L::P);
    T* dSs = reinterpret_cast<T*>(smem + L::DS);
    float* Acc = reinterpret_cast<float*>(smem + L::ACC);
    float* lse_s = reinterpret_cast<float*>(smem + L::STATS);
    float* dd_s = lse_s + BM;

    const int n0 = blockIdx.x * BN;
    const int bh = blockIdx.y, b = bh / H;
    const long long qoff = (long long)bh * Lq * D, koff = (long long)bh * Lk * D;
    const int kend = kv_len ? min(Lk, max(kv_len[b], 0)) : Lk;
    const float scale_log2 = scale * LOG2E_F;

    load_rows<T, D, NT>(Ks, Kg + koff + (long long)n0 * D, BN, min(Lk, kend) - n0);
    load_rows<T, D, NT>(Vs, Vg + koff + (long long)n0 * D, BN, min(Lk, kend) - n0);

    BlockAcc<T, MODE, BN, D, NT> acc_dk, acc_dv;
    acc_dk.zero();
    acc_dv.zero();
    const int m_start = causal ? (n0 / BM) * BM : 0;          // query tiles that see these keys
    const int m_stop = n0 < kend ? Lq : 0;
    for (int m0 = m_start; m0 < m_stop; m0 += BM) {
        load_rows<T, D, NT>(Qs, Qg + qoff + (long long)m0 * D, BM, Lq - m0);
        load_rows<T, D, NT>(dOs, dOg + qoff + (long long)m0 * D, BM, Lq - m0);
        for (int r = threadIdx.x; r < BM; r += NT) {
            const bool ok = m0 + r < Lq;
            lse_s[r] = ok ? LSEg[(long long)bh * Lq + m0 + r] * LOG2E_F : -inf_f();
            dd_s[r] = ok ? deltag[(long long)bh * Lq + m0 + r] : 0.0f;
        }
        __syncthreads();
        {
            BlockAcc<T, MODE, BM, BN, NT> acc;
            acc.zero();
            acc.template mma<true, false>(Qs, LDT, Ks, LDT, D);     // S = Q K^T
            acc.store(Ss, LDS);
            acc.zero();
            acc.template mma<true, false>(dOs, LDT, Vs, LDT, D);    // dP = dO V^T
            acc.store(dPs, LDS);
        }
        __syncthreads();
        const bool need_mask = n0 + BN > kend || (causal && n0 + BN - 1 > m0);
        for (int e = threadIdx.x; e < BM * BN; e += NT) {
            const int r = e / BN, c = e % BN, i = m0 + r, col = n0 + c;
            const float lse = lse_s[r];
            float p = lse == -inf_f() ? 0.0f : exp2f(Ss[r * LDS + c] * scale_log2 - lse);
            if (need_mask && (col >= kend || (causal && col > i))) p = 0.0f;
            const float ds = p * (dPs[r * LDS + c] - dd_s[r]);
            Ps[r * LDS + c] = from_f<T>(p);                       // same slot as S when T = float
            dSs[r * LDS + c] = from_f<T>(ds);                     // same slot as dP when T = float
        }
        __syncthreads();
        acc_dv.template mma<false, true>(Ps, LDS, dOs, LDT, BM);  // dV += P^T dO
        acc_dk.template mma<false, true>(dSs, LDS, Qs, LDT, BM);  // dK += dS^T Q
        {
            BlockAcc<T, MODE, BM, D, NT> acc;
            acc.zero();
            acc.template mma<true, true>(dSs, LDS, Ks, LDT, BN);   // dQ_tile = dS K
            acc.store(Acc, LDT);
        }
        __syncthreads();
        for (int e = threadIdx.x; e < BM * D; e += NT) {
            const int r = e / D, c = e % D;
            if (m0 + r < Lq) atomicAdd(dQacc + qoff + (long long)(m0 + r) * D + c, Acc[r * LDT + c] * scale);
        }
        __syncthreads();
    }
    acc_dk.store(Acc, LDT);
    __syncthreads();
    for (int e = threadIdx.x; e < BN * D; e += NT) {
        const int r = e / D, c = e % D;
        if (n0 + r < Lk) dKg[koff + (long long)(n0 + r) * D + c] = from_f<T>(Acc[r * LDT + c] * scale);
    }
    __syncthreads();
    acc_dv.store(Acc, LDT);
    __syncthreads();
    for (int e = threadIdx.x; e < BN * D; e += NT) {
        const int r = e / D, c = e % D;
        if (n0 + r < Lk) dVg[koff + (long long)(n0 + r) * D + c] = from_f<T>(Acc[r * LDT + c]);
    }
}

// out[i] = T(acc[i]) (the float32 dQ workspace back to the storage type)
template <typename T>
__global__ void attn_cast(const float* __restrict__ acc, T* __restrict__ out, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x)
        out[i] = tl::from_f<T>(acc[i]);
}

#ifdef TL_INSTANTIATE_ALL
// nvcc builds (ptxas reports, sanitizer runs); CuPy instantiates by name_expressions instead.
// Tile sizes here must match tinygrad_lite/backend/kernels.py (ATTN_FWD_TILE, ATTN_BWD_TILE).
#define TL_ATTN(T, MODE, D)                                                                     \
    template __global__ void attn_fwd<T, MODE, D, 64, 64, 128>(const T*, const T*, const T*, T*, \
        float*, const int*, int, int, int, float, int);                                          \
    template __global__ void attn_bwd<T, MODE, D, 64, 64, 256>(const T*, const T*, const T*,     \
        const T*, const float*, const float*, float*, T*, T*, const int*, int, int, int, float, int);
#define TL_ATTN_D(T, MODE) TL_ATTN(T, MODE, 32) TL_ATTN(T, MODE, 64) TL_ATTN(T, MODE, 128)
TL_ATTN_D(float, 0)
TL_ATTN_D(float, 1)
TL_ATTN_D(__half, 2)
TL_ATTN_D(__nv_bfloat16, 2)
#define TL_DELTA(T)                                                                          \
    template __global__ void attn_bwd_delta<T, 32>(const T*, const T*, float*, int);         \
    template __global__ void attn_bwd_delta<T, 64>(const T*, const T*, float*, int);         \
    template __global__ void attn_bwd_delta<T, 128>(const T*, const T*, float*, int);        \
    template __global__ void attn_cast<T>(const float*, T*, long long);
TL_DELTA(float)
TL_DELTA(__half)
TL_DELTA(__nv_bfloat16)
#endif
