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
