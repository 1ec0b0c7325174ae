// The register-blocked tile kernel of the geometry kernel (docs/design.md §2.4.2): the
// products <training, test> of one tile, and the minimum with its first index of a run of
// values. Internal to cpp/geometry.cpp.
#pragma once

#include "common.hpp"

#include <limits>
#include <utility>
#include <vector>

namespace archbound {
namespace geometry_kernel {

template <class S> using AlignedVector = std::vector<S, Eigen::aligned_allocator<S>>;

/// Shape of the register-blocked micro-kernel: MR training samples (three SIMD packets) by NR
/// test samples, so that the MR x NR accumulators fill most of the vector registers.
template <class S> struct Kernel {
    using Packet = typename Eigen::internal::packet_traits<S>::type;
    static constexpr int kLanes = Eigen::internal::unpacket_traits<Packet>::size;
    static constexpr int MR = 3 * kLanes;
    static constexpr int NR = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS >= 32   ? 8
                              : EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS >= 16 ? 4
                                                                             : 2;
    /// Training samples per GEMM block: the block's panels (about 0.5 MB at d = 784) and
    /// its products stay in L2 while every test panel passes over them.
    static constexpr Index kBlock = 10 * MR;
};

/// c[i + n ldc] (=, or += when `accumulate`) sum_k a[k MR + i] b[k + n ldb], i < P lanes,
/// n < NR: one tile of <training, test> products, of the first P of a panel's three SIMD
/// packets (P < 3 for a last, partly filled panel), from a packed training panel (see
/// prepare_training) and NR centred test columns (see pack_tile). Eigen's packet primitives
/// keep it portable across SIMD instruction sets; its own GEMM (3.4) reaches about 80% of
/// OpenBLAS here, this kernel about 105%.
template <class S, int P>
EIGEN_DONT_INLINE void micro_kernel(const S* __restrict a, const S* __restrict b, Index ldb,
                                    Index depth, S* __restrict c, Index ldc, bool accumulate) {
    using namespace Eigen::internal;
    using K = Kernel<S>;
    using Packet = typename K::Packet;
    constexpr int L = K::kLanes, MR = K::MR, NR = K::NR;
    static_assert(P >= 1 && P * L <= MR);
    Packet acc[P][NR];
#pragma GCC unroll 8
    for (int n = 0; n < NR; ++n)
        for (int q = 0; q < P; ++q) acc[q][n] = pset1<Packet>(S(0));
    for (Index k = 0; k < depth; ++k, a += MR, ++b) {
        Packet ak[P];
        for (int q = 0; q < P; ++q) ak[q] = pload<Packet>(a + q * L);
#pragma GCC unroll 8
        for (int n = 0; n < NR; ++n) {
            const Packet bn = pset1<Packet>(b[n * ldb]);
            for (int q = 0; q < P; ++q) acc[q][n] = pmadd(ak[q], bn, acc[q][n]);
        }
    }
#pragma GCC unroll 8
    for (int n = 0; n < NR; ++n)
        for (int q = 0; q < P; ++q) {
            S* out = c + n * ldc + q * L;
            pstoreu(out, accumulate ? padd(ploadu<Packet>(out), acc[q][n]) : acc[q][n]);
        }
}

/// The minimum of x[0], ..., x[n - 1] and the first index where it occurs, in one pass: a
/// running minimum per SIMD lane with the index where that lane first reached it.
template <class S> std::pair<S, Index> min_and_index(const S* x, Index n) {
    using namespace Eigen::internal;
    using Packet = typename Kernel<S>::Packet;
    constexpr int L = Kernel<S>::kLanes;
    S low = std::numeric_limits<S>::infinity();
    Index at = 0;
    Index i = 0;
    if (n >= L) {
        // Lane indices as S: exact, since n is at most a training block (<= 2^24).
        Packet lows = ploadu<Packet>(x), where = plset<Packet>(S(0));
        const Packet step = pset1<Packet>(S(L));
        Packet index = padd(where, step);
        for (i = L; i + L <= n; i += L, index = padd(index, step)) {
            const Packet v = ploadu<Packet>(x + i);
            const Packet lower = pcmp_lt(v, lows);  // strict: a lane keeps its first minimum
            lows = pselect(lower, v, lows);
            where = pselect(lower, index, where);
        }
        alignas(64) S lane_low[L], lane_at[L];
        pstore(lane_low, lows), pstore(lane_at, where);
        for (int l = 0; l < L; ++l)
            if (lane_low[l] < low || (lane_low[l] == low && Index(lane_at[l]) < at))
                low = lane_low[l], at = Index(lane_at[l]);
    }
    for (; i < n; ++i)  // the tail comes after every lane's indices: strict keeps ties first
        if (x[i] < low) low = x[i], at = i;
    return {low, at};
}

/// Adds sum_q (x_q - column_q)^2 over a block of training positions to `out`.
template <class S, class Out> void add_squared_differences(const Matrix<S>& columns, Index a,
                                                           Index len, const S* x, Index dims,
                                                           Out out) {
    for (Index q = 0; q < dims; ++q)
        out += (columns.col(q).segment(a, len).array() - x[q]).square();
}

}  // namespace geometry_kernel
}  // namespace archbound
