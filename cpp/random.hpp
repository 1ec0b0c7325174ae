// The core's one random source, the same on every compiler and standard library.
//
// std::mt19937_64's output is fixed by the C++ standard; std::normal_distribution is not
// (libstdc++ and libc++ transform differently). So normals come from an explicit transform:
// uniforms u = (top 53 bits + 1/2) 2^-53 in (0, 1), and Box-Muller pairs
// (r cos t, r sin t) with r = sqrt(-2 ln u1), t = 2 pi u2.
#pragma once

#include "common.hpp"

#include <cmath>
#include <cstdint>
#include <random>

namespace archbound {

/// Standard normal numbers from a seed, in a documented, portable order.
class NormalSource {
  public:
    explicit NormalSource(std::uint64_t seed) : engine_(seed) {}

    double next() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        const double radius = std::sqrt(-2.0 * std::log(uniform()));
        const double angle = 6.283185307179586476925286766559 * uniform();
        spare_ = radius * std::sin(angle);
        has_spare_ = true;
        return radius * std::cos(angle);
    }

  private:
    double uniform() { return (double(engine_() >> 11) + 0.5) * 0x1p-53; }

    std::mt19937_64 engine_;
    double spare_ = 0;
    bool has_spare_ = false;
};

/// A uniform random unit vector in R^n (normalised standard normals).
inline Vector<double> random_unit_vector(Index n, std::uint64_t seed) {
    NormalSource normal(seed);
    Vector<double> x(n);
    for (Index i = 0; i < n; ++i) x(i) = normal.next();
    return x / x.norm();
}

}  // namespace archbound

namespace archbound {

/// A counter-based random source: the word at (key, i) is a pure function of both, so any
/// thread can draw any part of the stream, in any order, and get the same numbers.
///
/// word(key, i) = mix64(key + (i + 1) gamma), the output function of SplitMix64 (Steele,
/// Lea & Flood 2014) on a Weyl sequence; stream keys are key(seed, s) =
/// mix64(mix64(seed) + (s + 1) gamma). archbound.reference.counter_words reproduces it.
class CounterStream {
  public:
    static constexpr std::uint64_t kGamma = 0x9e3779b97f4a7c15ULL;

    static std::uint64_t mix64(std::uint64_t z) {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

    CounterStream(std::uint64_t seed, std::uint64_t stream)
        : key_(mix64(mix64(seed) + (stream + 1) * kGamma)) {}

    std::uint64_t word(std::uint64_t i) const { return mix64(key_ + (i + 1) * kGamma); }

    /// Standard normals z_first .. z_{first + count - 1} in float32. Pair p = (z_2p, z_2p+1)
    /// is Box-Muller on the word w = word(p): u1 = (bits 63..40 of w + 1) 2^-24 in (0, 1],
    /// u2 = (bits 31..8 of w) 2^-24 in [0, 1), r = sqrt(-2 ln u1), t = 2 pi u2,
    /// z_2p = r cos t, z_2p+1 = r sin t; vectorised with Eigen's float log, sin and cos.
    /// With `mean` and `sigma` (count entries each), writes mean_k + sigma_k z_{first+k}
    /// instead: a Gaussian sample in one pass.
    void normals(std::uint64_t first, Index count, float* out, const float* mean = nullptr,
                 const float* sigma = nullptr) const {
        constexpr Index kChunk = 512;  // pairs per vectorised chunk, a multiple of 16
        Eigen::Array<float, Eigen::Dynamic, 1> u1(kChunk), u2(kChunk), r(kChunk), t(kChunk);
        if (count <= 0) return;
        const std::uint64_t end = first + std::uint64_t(count);
        const std::uint64_t last_pair = (end - 1) / 2;
        for (std::uint64_t pair = first / 2; pair <= last_pair; pair += kChunk) {
            const Index pairs = Index(std::min<std::uint64_t>(kChunk, last_pair - pair + 1));
            // Whole packets only: Eigen's scalar tail rounds differently, and a normal must
            // not depend on where its chunk starts.
            const Index padded = (pairs + 15) / 16 * 16;
            for (Index j = 0; j < padded; ++j) {
                const std::uint64_t w = word(pair + std::uint64_t(j));
                u1(j) = float((w >> 40) + 1) * 0x1p-24f;
                u2(j) = float((w >> 8) & 0xffffffULL) * 0x1p-24f;
            }
            r.head(padded) = (u1.head(padded).log() * -2.0f).sqrt();
            t.head(padded) = u2.head(padded) * 6.28318530717958647692f;
            u1.head(padded) = r.head(padded) * t.head(padded).cos();  // the even members
            u2.head(padded) = r.head(padded) * t.head(padded).sin();  // the odd members
            const std::uint64_t lo = std::max(first, 2 * pair);
            const std::uint64_t hi = std::min(end, 2 * (pair + std::uint64_t(pairs)));
            const float* z[2] = {u1.data(), u2.data()};
            for (std::uint64_t k = lo; k < hi; ++k) {
                const float value = z[k & 1][(k - 2 * pair) >> 1];
                const std::uint64_t at = k - first;
                out[at] = mean ? mean[at] + sigma[at] * value : value;
            }
        }
    }

    /// A uniform integer in [0, n), n >= 1, exactly (Lemire 2019, multiply and reject),
    /// reading words at *counter, *counter + 1, ... and advancing *counter past them.
    std::uint64_t below(std::uint64_t n, std::uint64_t* counter) const {
        unsigned __int128 product = (unsigned __int128)word((*counter)++) * n;
        std::uint64_t low = std::uint64_t(product);
        if (low < n) {
            const std::uint64_t threshold = (0 - n) % n;
            while (low < threshold) {
                product = (unsigned __int128)word((*counter)++) * n;
                low = std::uint64_t(product);
            }
        }
        return std::uint64_t(product >> 64);
    }

  private:
    std::uint64_t key_;
};

}  // namespace archbound
