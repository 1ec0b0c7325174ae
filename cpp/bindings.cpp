// The Python binding of the archbound core: type conversion, GIL release, interrupt polling
// and error translation only. The mathematics lives in the other files of cpp/.
//
// A C-contiguous (n, d) NumPy array is read as the column-major d x n matrix that the core
// expects (a column per sample), without a copy. Column-major results come back as
// Fortran-ordered arrays, which the Python layer transposes for free.
#include <pybind11/eigen.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "blas.hpp"
#include "construct.hpp"
#include "finite.hpp"
#include "forward.hpp"
#include "geometry.hpp"
#include "isa.hpp"
#include "montecarlo.hpp"
#include "opnorm.hpp"
#include "pinv.hpp"
#include "random.hpp"

namespace py = pybind11;
using archbound::Index;

namespace {

template <class S> using CArray = py::array_t<S, py::array::c_style>;

/// The d x n column-major view of a C-contiguous (n, d) array.
template <class S> Eigen::Map<const archbound::Matrix<S>> columns(const CArray<S>& a) {
    if (a.ndim() != 2) throw std::invalid_argument("expected a 2-D array");
    return {a.data(), Index(a.shape(1)), Index(a.shape(0))};
}

/// Polls Python's signal handlers at most every 50 ms, taking the GIL only then.
archbound::InterruptCheck python_signal_check() {
    using clock = std::chrono::steady_clock;
    auto last = std::make_shared<clock::time_point>(clock::now());
    return [last]() {
        const auto now = clock::now();
        if (now - *last < std::chrono::milliseconds(50)) return false;
        *last = now;
        py::gil_scoped_acquire gil;
        return PyErr_CheckSignals() != 0;
    };
}

/// Runs body(check) with the GIL released; an interrupt surfaces as the Python exception that
/// the signal handler raised (KeyboardInterrupt for Ctrl-C).
template <class F> auto without_gil(F&& body) {
    archbound::InterruptCheck check = python_signal_check();
    try {
        py::gil_scoped_release release;
        return body(check);
    } catch (const archbound::Interrupted&) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_KeyboardInterrupt, "interrupted");
        throw py::error_already_set();
    }
}

/// The address held by a PyCapsule (None: null), as SciPy exports its BLAS and LAPACK.
void* capsule_pointer(const py::object& capsule) {
    if (capsule.is_none()) return nullptr;
    if (!PyCapsule_CheckExact(capsule.ptr()))
        throw std::invalid_argument(
            "expected a PyCapsule of scipy.linalg.cython_blas or cython_lapack");
    void* pointer = PyCapsule_GetPointer(capsule.ptr(), PyCapsule_GetName(capsule.ptr()));
    if (!pointer) throw py::error_already_set();
    return pointer;
}

template <class S> bool all_finite_of(const CArray<S>& a, int threads) {
    // Releasing and taking back the GIL costs about as much as scanning a few thousand
    // values: small arrays, which every small call checks, are scanned holding it.
    if (a.size() <= 4096) return archbound::all_finite(a.data(), Index(a.size()), threads);
    py::gil_scoped_release release;
    return archbound::all_finite(a.data(), Index(a.size()), threads);
}

std::vector<Index> to_indices(const std::vector<long long>& widths) {
    return {widths.begin(), widths.end()};
}

template <class S>
py::array forward(const CArray<S>& x, const std::vector<CArray<S>>& weights,
                  const std::vector<CArray<S>>& biases, int threads, int activation,
                  double parameter) {
    const archbound::Activation sigma = archbound::make_activation(activation, parameter);
    std::vector<archbound::WeightMap<S>> w;
    std::vector<archbound::BiasMap<S>> b;
    for (const auto& a : weights) {
        if (a.ndim() != 2) throw std::invalid_argument("weights must be 2-D");
        w.emplace_back(a.data(), Index(a.shape(0)), Index(a.shape(1)));
    }
    for (const auto& a : biases) {
        if (a.ndim() != 1) throw std::invalid_argument("biases must be 1-D");
        b.emplace_back(a.data(), Index(a.shape(0)));
    }
    auto x0 = columns(x);
    archbound::Matrix<S> out = without_gil([&](const archbound::InterruptCheck& check) {
        return archbound::forward<S>(x0, w, b, threads, check, sigma);
    });
    return py::cast(std::move(out));
}

/// The Gaussian network of four lists of float32 arrays (weights 2-D, biases 1-D, sigmas
/// shaped as their means), its shapes checked.
archbound::GaussianNetwork gaussian_network(const std::vector<CArray<float>>& weight_mean,
                                            const std::vector<CArray<float>>& weight_sigma,
                                            const std::vector<CArray<float>>& bias_mean,
                                            const std::vector<CArray<float>>& bias_sigma) {
    const size_t layers = weight_mean.size();
    if (layers == 0 || weight_sigma.size() != layers || bias_mean.size() != layers ||
        bias_sigma.size() != layers)
        throw std::invalid_argument("need a mean and a sigma for every weight and bias");
    archbound::GaussianNetwork net;
    for (size_t l = 0; l < layers; ++l) {
        const auto &w = weight_mean[l], &sw = weight_sigma[l], &b = bias_mean[l],
                   &sb = bias_sigma[l];
        if (w.ndim() != 2 || sw.ndim() != 2 || b.ndim() != 1 || sb.ndim() != 1)
            throw std::invalid_argument("weights must be 2-D and biases 1-D");
        const Index rows = Index(w.shape(0)), cols = Index(w.shape(1));
        if (Index(sw.shape(0)) != rows || Index(sw.shape(1)) != cols ||
            Index(b.shape(0)) != rows || Index(sb.shape(0)) != rows)
            throw std::invalid_argument("layer " + std::to_string(l) +
                                        ": sigmas must have the shapes of the means, and "
                                        "the bias one entry per weight row");
        if (l == 0) net.widths.push_back(cols);
        if (cols != net.widths.back())
            throw std::invalid_argument("layer " + std::to_string(l) + " has " +
                                        std::to_string(cols) + " columns, expected " +
                                        std::to_string(net.widths.back()));
        net.widths.push_back(rows);
        net.weight_mean.push_back(w.data());
        net.weight_sigma.push_back(sw.data());
        net.bias_mean.push_back(b.data());
        net.bias_sigma.push_back(sb.data());
    }
    return net;
}

archbound::NormOperand norm_operand(const CArray<double>& a) {
    if (a.ndim() != 2) throw std::invalid_argument("W must be 2-D");
    return {a.data(), Index(a.shape(0)), Index(a.shape(1))};
}

archbound::NormOptions norm_options(const std::string& method, double delta, double rtol,
                                    long long max_iter, std::uint64_t seed) {
    archbound::NormOptions o;
    o.method = archbound::norm_method_from_name(method);
    o.delta = delta;
    o.rtol = rtol;
    o.max_iter = Index(max_iter);
    o.seed = seed;
    return o;
}

template <class S> using OptionalArray = std::optional<CArray<S>>;

/// B_jk = min_i (alpha_k |F_j - G_i| + |ytilde_j - y_i| + r_ik), its argmin and distance
/// (unless `with_distances` is false);
/// absent optional arrays are passed to the core as empty. `offsets` is (K, N).
template <class S>
archbound::NearestResult<S> nearest(const CArray<S>& test, const CArray<S>& train,
                                    const CArray<S>& alphas, const OptionalArray<S>& test_labels,
                                    const OptionalArray<S>& train_labels,
                                    const OptionalArray<S>& offsets,
                                    const OptionalArray<std::int64_t>& test_classes,
                                    const OptionalArray<std::int64_t>& train_classes,
                                    long long block_size, int threads, bool with_distances) {
    using Map = Eigen::Map<const archbound::Matrix<S>>;
    using VectorMap = Eigen::Map<const archbound::Vector<S>>;
    using ClassMap = Eigen::Map<const archbound::IndexVector>;
    auto matrix = [](const OptionalArray<S>& a) { return a ? columns(*a) : Map(nullptr, 0, 0); };
    auto vector = [](const auto& a, auto empty) {
        if (a && a->ndim() != 1) throw std::invalid_argument("expected a 1-D array");
        return a ? decltype(empty)(a->data(), Index(a->shape(0))) : empty;
    };
    auto f = columns(test), g = columns(train);
    auto yf = matrix(test_labels), yg = matrix(train_labels), r = matrix(offsets);
    auto a = vector(std::optional<CArray<S>>(alphas), VectorMap(nullptr, 0));
    auto cf = vector(test_classes, ClassMap(nullptr, 0));
    auto cg = vector(train_classes, ClassMap(nullptr, 0));
    return without_gil([&](const archbound::InterruptCheck& check) {
        return archbound::nearest<S>(f, g, a, yf, yg, r, cf, cg, Index(block_size), threads, check,
                                     with_distances);
    });
}

/// Writable views of the result's own memory, which nothing else holds: a caller that keeps
/// a column keeps it without a copy.
template <class S> void bind_nearest_result(py::module_& m, const char* name) {
    using Result = archbound::NearestResult<S>;
    py::class_<Result>(m, name)
        .def_property_readonly("values",
                               [](Result& r) -> archbound::Matrix<S>& { return r.values; })
        .def_property_readonly("indices",
                               [](Result& r) -> archbound::IndexMatrix& { return r.indices; })
        .def_property_readonly("distances",
                               [](Result& r) -> archbound::Matrix<S>& { return r.distances; });
}

}  // namespace

// The module's name: _core, or in a portable build one of its instruction-set variants
// (CMakeLists.txt), among which archbound._cpu chooses at import.
#ifndef ARCHBOUND_MODULE
#define ARCHBOUND_MODULE _core
#endif

PYBIND11_MODULE(ARCHBOUND_MODULE, m) {
    m.doc() = "archbound's compiled core (Eigen + OpenMP). Use the archbound package instead.";

    // Every result is one typed object; its matrices come back as NumPy views of the result's
    // own memory (never the caller's arrays), read-only but for nearest's.
    using archbound::ConstructedNetwork, archbound::NormResult, archbound::PinvResult;
    py::class_<PinvResult>(m, "PinvResult")
        .def_readonly("pinv", &PinvResult::pinv)
        .def_readonly("rank", &PinvResult::rank)
        .def_readonly("sigma_max", &PinvResult::sigma_max)
        .def_readonly("sigma_min", &PinvResult::sigma_min)
        .def_readonly("fast_path", &PinvResult::fast_path);
    py::class_<ConstructedNetwork>(m, "ConstructedNetwork")
        .def_readonly("weights", &ConstructedNetwork::weights)
        .def_readonly("biases", &ConstructedNetwork::biases)
        .def_readonly("input_rank", &ConstructedNetwork::input_rank)
        .def_readonly("readout", &ConstructedNetwork::readout)
        .def_readonly("beta", &ConstructedNetwork::beta);
    py::class_<NormResult>(m, "NormResult")
        .def_readonly("estimate", &NormResult::estimate)
        .def_readonly("upper", &NormResult::upper)
        .def_readonly("iterations", &NormResult::iterations)
        .def_readonly("converged", &NormResult::converged)
        .def_property_readonly(
            "method", [](const NormResult& r) { return archbound::norm_method_name(r.method); })
        .def("__eq__",
             [](const NormResult& a, const NormResult& b) {
                 return a.estimate == b.estimate && a.upper == b.upper &&
                        a.iterations == b.iterations && a.converged == b.converged &&
                        a.method == b.method;
             })
        .def("__repr__", [](const NormResult& r) {
            return "NormResult(estimate=" + std::to_string(r.estimate) +
                   ", upper=" + std::to_string(r.upper) + ", method='" +
                   archbound::norm_method_name(r.method) + "')";
        });

    m.def(
        "pinv",
        [](const CArray<double>& a, double rcond, int threads, bool report_estimates) {
            auto matrix = columns(a);  // a^T
            const auto estimates =
                report_estimates ? archbound::Estimates::reported : archbound::Estimates::decision;
            // pinv(a^T) = pinv(a)^T, returned Fortran-ordered.
            return without_gil([&](const archbound::InterruptCheck& check) {
                return archbound::pinv(matrix, rcond, threads, check, true, estimates);
            });
        },
        py::arg("a"), py::arg("rcond"), py::arg("threads"), py::arg("report_estimates") = true);

    m.def(
        "readout_first",
        [](const CArray<double>& x, const CArray<double>& y, const std::vector<long long>& widths,
           double rcond, int threads) {
            auto x0 = columns(x), y0 = columns(y);
            auto sizes = to_indices(widths);
            return without_gil([&](const archbound::InterruptCheck& check) {
                return archbound::readout_first(x0, y0, sizes, rcond, threads, check);
            });
        },
        py::arg("x"), py::arg("y"), py::arg("widths"), py::arg("rcond"), py::arg("threads"));

    m.def(
        "readout_last",
        [](const CArray<double>& x, const CArray<double>& y, const std::vector<long long>& widths,
           std::uint64_t seed, double rcond, int threads) {
            auto x0 = columns(x), y0 = columns(y);
            auto sizes = to_indices(widths);
            return without_gil([&](const archbound::InterruptCheck& check) {
                return archbound::readout_last(x0, y0, sizes, seed, rcond, threads, check);
            });
        },
        py::arg("x"), py::arg("y"), py::arg("widths"), py::arg("seed"), py::arg("rcond"),
        py::arg("threads"));

    m.def("forward_float32", &forward<float>, py::arg("x"), py::arg("weights"), py::arg("biases"),
          py::arg("threads"), py::arg("activation") = 0, py::arg("parameter") = 0.0);
    m.def("forward_float64", &forward<double>, py::arg("x"), py::arg("weights"), py::arg("biases"),
          py::arg("threads"), py::arg("activation") = 0, py::arg("parameter") = 0.0);

    m.def(
        "stochastic_errors",
        [](const CArray<float>& x, const CArray<std::int64_t>& labels,
           const std::vector<CArray<float>>& weight_mean,
           const std::vector<CArray<float>>& weight_sigma,
           const std::vector<CArray<float>>& bias_mean,
           const std::vector<CArray<float>>& bias_sigma, long long draws, long long block,
           std::uint64_t seed, int threads) {
            auto net = gaussian_network(weight_mean, weight_sigma, bias_mean, bias_sigma);
            auto x0 = columns(x);
            if (labels.ndim() != 1 || Index(labels.shape(0)) != x0.cols())
                throw std::invalid_argument("labels must be 1-D, one per row of x");
            archbound::MonteCarloOptions options{Index(draws), Index(block), seed};
            auto counts = without_gil([&](const archbound::InterruptCheck& check) {
                return archbound::stochastic_errors(x0, labels.data(), net, options, threads,
                                                    check);
            });
            return py::array_t<std::int64_t>(py::ssize_t(counts.size()), counts.data());
        },
        py::arg("x").noconvert(), py::arg("labels").noconvert(), py::arg("weight_mean"),
        py::arg("weight_sigma"), py::arg("bias_mean"), py::arg("bias_sigma"), py::arg("draws"),
        py::arg("block"), py::arg("seed"), py::arg("threads"));
    m.def(
        "counter_normals",
        [](std::uint64_t seed, std::uint64_t stream, std::uint64_t first, long long count) {
            if (count < 0) throw std::invalid_argument("count must be >= 0");
            py::array_t<float> out(py::ssize_t{count});
            archbound::CounterStream(seed, stream).normals(first, Index(count),
                                                           out.mutable_data());
            return out;
        },
        py::arg("seed"), py::arg("stream"), py::arg("first"), py::arg("count"),
        "Standard normals first .. first + count - 1 of CounterStream(seed, stream).");
    m.def(
        "counter_below",
        [](std::uint64_t seed, std::uint64_t stream, std::uint64_t n, long long count,
           std::uint64_t counter) {
            if (n == 0 || count < 0) throw std::invalid_argument("need n >= 1 and count >= 0");
            py::array_t<std::uint64_t> out(py::ssize_t{count});
            archbound::CounterStream source(seed, stream);
            for (long long j = 0; j < count; ++j) out.mutable_data()[j] = source.below(n, &counter);
            return out;
        },
        py::arg("seed"), py::arg("stream"), py::arg("n"), py::arg("count"), py::arg("counter"),
        "count uniform integers in [0, n) of CounterStream(seed, stream), from word `counter`.");

    m.def(
        "opnorm",
        [](const CArray<double>& w, const std::string& method, double delta, double rtol,
           long long max_iter, std::uint64_t seed, int threads) {
            auto operand = norm_operand(w);
            auto options = norm_options(method, delta, rtol, max_iter, seed);
            return without_gil([&](const archbound::InterruptCheck& check) {
                return archbound::opnorm(operand, options, threads, check);
            });
        },
        py::arg("w"), py::arg("method"), py::arg("delta"), py::arg("rtol"), py::arg("max_iter"),
        py::arg("seed"), py::arg("threads"));
    m.def(
        "opnorms",
        [](const std::vector<CArray<double>>& weights, const std::vector<std::string>& methods,
           double delta, double rtol, long long max_iter, const std::vector<std::uint64_t>& seeds,
           int threads) {
            if (methods.size() != weights.size() || seeds.size() != weights.size())
                throw std::invalid_argument("opnorms: need one method and one seed per matrix");
            std::vector<archbound::NormOperand> operands;
            std::vector<archbound::NormOptions> options;
            for (size_t l = 0; l < weights.size(); ++l) {
                operands.push_back(norm_operand(weights[l]));
                options.push_back(norm_options(methods[l], delta, rtol, max_iter, seeds[l]));
            }
            return without_gil([&](const archbound::InterruptCheck& check) {
                return archbound::opnorms(operands, options, threads, check);
            });
        },
        py::arg("weights"), py::arg("methods"), py::arg("delta"), py::arg("rtol"),
        py::arg("max_iter"), py::arg("seeds"), py::arg("threads"));

#define ARCHBOUND_NEAREST_ARGS                                                                \
    py::arg("test").noconvert(), py::arg("train").noconvert(), py::arg("alphas").noconvert(), \
        py::arg("test_labels").noconvert(), py::arg("train_labels").noconvert(),              \
        py::arg("offsets").noconvert(), py::arg("test_classes").noconvert(),                  \
        py::arg("train_classes").noconvert(), py::arg("block_size"), py::arg("threads"),      \
        py::arg("with_distances") = true
    bind_nearest_result<float>(m, "NearestResultFloat32");
    bind_nearest_result<double>(m, "NearestResultFloat64");
    m.def(
        "nearest_workspace_bytes",
        [](long long m, long long n, long long d, long long q, long long objectives,
           long long block, int threads, int itemsize) {
            return itemsize == 4 ? archbound::nearest_workspace_bytes<float>(m, n, d, q, objectives,
                                                                             block, threads)
                                 : archbound::nearest_workspace_bytes<double>(
                                       m, n, d, q, objectives, block, threads);
        },
        py::arg("m"), py::arg("n"), py::arg("d"), py::arg("q"), py::arg("objectives"),
        py::arg("block_size"), py::arg("threads"), py::arg("itemsize"));
    m.def(
        "default_threads", [] { return archbound::resolve_threads(0); },
        "The thread count the core uses when a call passes threads = 0 (OpenMP's default).");
    m.def("nearest_float32", &nearest<float>, ARCHBOUND_NEAREST_ARGS);
    m.def("nearest_float64", &nearest<double>, ARCHBOUND_NEAREST_ARGS);
#undef ARCHBOUND_NEAREST_ARGS

    m.def("simd_instruction_sets", &Eigen::SimdInstructionSetsInUse);
    m.def("compiled_isa", &archbound::compiled_isa);

    // any C-contiguous float32 or float64 array, of any shape
    m.def("all_finite", &all_finite_of<double>, py::arg("a").noconvert(), py::arg("threads"));
    m.def("all_finite", &all_finite_of<float>, py::arg("a").noconvert(), py::arg("threads"));

    m.def(
        "set_blas",
        [](const py::object& dgemm, const py::object& sgemm, const py::object& dtrsm,
           const py::object& dgeqrf, const py::object& dorgqr, const py::object& dgesdd,
           const std::string& description) {
            archbound::BlasFunctions f;
            f.dgemm = capsule_pointer(dgemm);
            f.sgemm = capsule_pointer(sgemm);
            f.dtrsm = capsule_pointer(dtrsm);
            f.dgeqrf = capsule_pointer(dgeqrf);
            f.dorgqr = capsule_pointer(dorgqr);
            f.dgesdd = capsule_pointer(dgesdd);
            f.description = description;
            archbound::set_blas(f);
        },
        py::arg("dgemm"), py::arg("sgemm"), py::arg("dtrsm"), py::arg("dgeqrf"), py::arg("dorgqr"),
        py::arg("dgesdd"), py::arg("description"),
        "Route the core's products to these BLAS and LAPACK routines (PyCapsules of "
        "scipy.linalg.cython_blas and cython_lapack).");
    m.def("use_blas", &archbound::use_blas, py::arg("on"));
    m.def("blas_backend", &archbound::blas_backend);
}
