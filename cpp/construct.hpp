// Layerwise zero-loss minimizers (docs/design.md §2.2).
#pragma once

#include "common.hpp"
#include "pinv.hpp"

#include <cstdint>
#include <vector>

namespace archbound {

struct ConstructedNetwork {
    std::vector<RowMatrix<double>> weights;  ///< W_1..W_{L+1}, each M_l x M_{l-1}
    std::vector<Vector<double>> biases;      ///< b_1..b_{L+1}
    Index input_rank = 0;                    ///< rank of X_0 (zero loss needs input_rank == N)
    RowMatrix<double> readout;  ///< readout_first: A = Y_0 X_0^+ (Q x M0); empty otherwise
    double beta = 0;            ///< readout_first: max(0, -min Y)
};

/// readout_first, the architecture-independent minimizer: with A = Y_0 X_0^+ and
/// beta = max(0, -min Y), W_1 = [A; 0], b_1 = [beta 1_Q; 0], W_l = truncated identity,
/// b_l = 0 (l = 2..L), W_{L+1} = [I_Q 0], b_{L+1} = -beta 1_Q. Then
/// f(x) = relu(A x + beta) - beta for every depth and width. Needs every M_l >= Q.
///
/// x0 is M0 x N, y0 is Q x N, widths lists M_1..M_L.
ConstructedNetwork readout_first(const ConstMatrixRef<double>& x0, const ConstMatrixRef<double>& y0,
                                 const std::vector<Index>& widths, double rcond, int threads,
                                 const InterruptCheck& check = {});

/// readout_last, the generic layerwise construction: W_l is a seeded random partial isometry
/// (orthonormal rows or columns, so ||W_l|| = 1) and b_l = max(0, -min_i (W_l h_i)) row by row,
/// so the ReLU is the identity on the training set; W_{L+1} = Y_0 (X^(L))^+, b_{L+1} = 0.
/// Needs every M_l >= N.
ConstructedNetwork readout_last(const ConstMatrixRef<double>& x0, const ConstMatrixRef<double>& y0,
                                const std::vector<Index>& widths, std::uint64_t seed, double rcond,
                                int threads, const InterruptCheck& check = {});

/// A random M x K partial isometry: orthonormal rows if M <= K, else orthonormal columns.
RowMatrix<double> random_partial_isometry(Index rows, Index cols, std::uint64_t seed);

}  // namespace archbound
