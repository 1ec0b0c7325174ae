"""The instruction-set check that runs before the compiled core loads (archbound._cpu)."""

import importlib.util

import pytest

from archbound import _core, _cpu

# The flags of an AVX2 machine without AVX-512 (an AMD EPYC), as /proc/cpuinfo lists them.
AVX2_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr "
    "sse sse2 ht syscall nx lm pni pclmulqdq ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes "
    "xsave avx f16c rdrand abm bmi1 avx2 bmi2 adx sha_ni vaes vpclmulqdq"
)


def _cpuinfo(tmp_path, flags):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: {flags}\n\n")
    return path


def _extension(tmp_path, features):
    """A stand-in for a compiled core: bytes around the marker, as in the .so."""
    path = tmp_path / "_core.so"
    path.write_bytes(b"\x7fELF\0\0" + _cpu.MARKER + f" {features};".encode() + b"\0\x01tail")
    return path


def test_missing_features_is_the_set_difference_sorted():
    compiled = {"avx2", "fma", "avx512f", "avx512bw"}
    assert _cpu.missing_features(compiled, AVX2_FLAGS.split()) == ["avx512bw", "avx512f"]
    assert _cpu.missing_features({"avx2", "fma"}, AVX2_FLAGS.split()) == []


def test_an_avx512_core_on_a_cpu_without_avx512_raises_import_error(tmp_path):
    core = _extension(tmp_path, "avx avx2 fma avx512f avx512dq avx512vl")
    with pytest.raises(ImportError, match="avx512dq, avx512f, avx512vl") as error:
        _cpu.check_core(core, _cpuinfo(tmp_path, AVX2_FLAGS))
    message = str(error.value)
    assert "SIGILL" in message
    assert "ARCHBOUND_NATIVE=OFF" in message
    assert "--force-reinstall" in message


def test_a_core_for_a_subset_of_the_cpu_loads(tmp_path):
    core = _extension(tmp_path, "avx avx2 fma")
    _cpu.check_core(core, _cpuinfo(tmp_path, AVX2_FLAGS))  # no error


def test_unknown_cpu_features_check_nothing(tmp_path):
    core = _extension(tmp_path, "avx512f")
    assert _cpu.cpu_features(tmp_path / "absent") is None
    _cpu.check_core(core, tmp_path / "absent")
    no_flags = tmp_path / "arm"
    no_flags.write_text("processor\t: 0\nFeatures\t: fp asimd\n")
    assert _cpu.cpu_features(no_flags) is None
    _cpu.check_core(core, no_flags)


def test_cpu_features_reads_the_flags_line(tmp_path):
    assert _cpu.cpu_features(_cpuinfo(tmp_path, AVX2_FLAGS)) == frozenset(AVX2_FLAGS.split())


def test_the_built_core_carries_the_features_it_reports():
    """The marker read from the file is the string the core was compiled with."""
    origin = importlib.util.find_spec("archbound._core").origin
    text = _core.compiled_isa()
    assert text.startswith(_cpu.MARKER.decode()) and text.endswith(";")
    compiled = _cpu.compiled_features(origin)
    assert compiled == frozenset(text[len(_cpu.MARKER) : -1].split())
    # The running CPU has them all, or this process could not have imported the core.
    available = _cpu.cpu_features()
    if available is not None:
        assert _cpu.missing_features(compiled, available) == []


# A portable build's modules: the baseline core and its two instruction-set variants.
PORTABLE = {
    "_core": "pni ssse3",
    "_core_x86_64_v3": "avx avx2 fma bmi1 bmi2 movbe",
    "_core_x86_64_v4": "avx avx2 fma avx512f avx512bw avx512cd avx512dq avx512vl",
}
AVX512_FLAGS = AVX2_FLAGS + " avx512f avx512bw avx512cd avx512dq avx512vl"
BASELINE_FLAGS = "fpu sse sse2 pni ssse3 lm"


def _installed(tmp_path, modules):
    """A `locate` for choose_core over stand-in files of `modules` (name -> features)."""
    files = {}
    for name, features in modules.items():
        files[name] = tmp_path / f"{name}.so"
        files[name].write_bytes(_cpu.MARKER + f" {features};".encode())
    return files.get


@pytest.mark.parametrize(
    ("flags", "chosen"),
    [
        (AVX512_FLAGS, "_core_x86_64_v4"),
        (AVX2_FLAGS, "_core_x86_64_v3"),
        (BASELINE_FLAGS, "_core"),
    ],
)
def test_a_portable_build_loads_the_most_capable_core_this_cpu_runs(tmp_path, flags, chosen):
    locate = _installed(tmp_path, PORTABLE)
    assert _cpu.choose_core(_cpuinfo(tmp_path, flags), locate) == chosen


def test_a_native_build_is_checked_and_never_replaced(tmp_path):
    native = {"_core": "avx avx2 fma avx512f"}
    locate = _installed(tmp_path, native)
    assert _cpu.choose_core(_cpuinfo(tmp_path, AVX512_FLAGS), locate) == "_core"
    with pytest.raises(ImportError, match="avx512f"):
        _cpu.choose_core(_cpuinfo(tmp_path, AVX2_FLAGS), locate)


def test_unknown_cpu_features_load_the_baseline_core(tmp_path):
    locate = _installed(tmp_path, PORTABLE)
    assert _cpu.choose_core(tmp_path / "absent", locate) == "_core"


def test_the_loaded_core_is_the_one_chosen():
    """archbound._core is the module that choose_core names for this CPU."""
    name = _cpu.choose_core()
    assert _core.__name__ == f"archbound.{name}"
