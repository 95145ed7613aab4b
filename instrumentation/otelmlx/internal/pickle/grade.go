package pickle

import (
	"fmt"
	"strings"
)

// Severity grades what an import lets a pickle do, in ModelScan's four levels.
type Severity uint8

// Severities, ordered: a larger value is worse.
const (
	// SeverityNone: the stream imports nothing (plain data).
	SeverityNone Severity = iota
	// SeverityLow: only known data reconstruction (tensors, arrays, ordered dicts, builtins
	// containers).
	SeverityLow
	// SeverityMedium: a global the tables do not know (custom classes, anything unlisted).
	SeverityMedium
	// SeverityHigh: network or file access (socket, webbrowser, http clients, io.open).
	SeverityHigh
	// SeverityCritical: code execution (os, subprocess, builtins.eval/exec/getattr, runpy, ...),
	// or an import the scanner cannot resolve statically.
	SeverityCritical
)

var severityNames = [...]string{"none", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// ParseSeverity reads a severity name (case-insensitive).
func ParseSeverity(v string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(v, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown pickle severity %q: use one of none, low, medium, high, critical", v)
}

// Python 2 module names, mapped as CPython's fix_imports maps them when it loads a protocol 0-2
// stream, so the old name is graded as the module it loads.
var py2Modules = map[string]string{
	"__builtin__": "builtins", "exceptions": "builtins", "copy_reg": "copyreg",
	"cPickle": "pickle", "commands": "subprocess", "httplib": "http.client",
	"urllib2": "urllib.request", "SocketServer": "socketserver", "xmlrpclib": "xmlrpc.client",
	"cStringIO": "io", "StringIO": "io", "UserDict": "collections", "dbm": "dbm",
}

// Modules every name of which executes code, loads code, or reaches the interpreter.
var criticalModules = set(
	"os", "posix", "nt", "subprocess", "_posixsubprocess", "sys", "runpy", "pty", "importlib",
	"imp", "code", "codeop", "ctypes", "_ctypes", "multiprocessing", "marshal", "pickle",
	"_pickle", "dill", "shelve", "bdb", "pdb", "shutil", "asyncio", "popen2", "platform",
	"pydoc", "timeit", "profile", "cProfile", "trace", "types", "builtins.__dict__", "gc",
	"inspect", "threading", "_thread", "signal", "sysconfig", "site", "venv", "ensurepip",
	"zipimport", "pkgutil", "distutils", "setuptools", "pip", "doctest", "idlelib", "lib2to3",
	"test", "cloudpickle", "_osx_support", "_aix_support", "_pyrepl", "numpy.f2py",
	"numpy.testing._private.utils",
)

// Single names that execute code or resolve arbitrary attributes.
var criticalNames = set(
	"builtins.eval", "builtins.exec", "builtins.execfile", "builtins.compile", "builtins.open",
	"builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.__import__",
	"builtins.apply", "builtins.breakpoint", "builtins.globals", "builtins.locals",
	"builtins.vars", "builtins.input", "builtins.reload", "builtins.file",
	"operator.attrgetter", "operator.methodcaller", "operator.call", "operator.itemgetter",
	"_operator.attrgetter", "_operator.methodcaller", "_operator.call", "_operator.itemgetter",
	"functools.reduce", "functools.partial", "functools.partialmethod",
	"uuid._get_command_stdout", "uuid._popen", "torch.utils.collect_env.run",
	"torch.jit.unsupported_tensor_ops.execWrapper", "torch.utils._config_module.ConfigModule.load_config",
	"torch.utils.data.datapipes.utils.decoder.basichandlers", "torch._dynamo.guards.GuardBuilder.get",
	"numpy.testing._private.utils.runstring", "numpy.load", "numpy.lib.npyio.load",
	"torch.load", "torch.serialization.load", "torch._inductor.codecache.compile_file",
	"torch.hub.load", "torch.hub.load_state_dict_from_url", "torch.jit.load",
	"torch.package.PackageImporter", "codecs.open",
)

// Modules whose names reach the network or the file system.
var highModules = set(
	"socket", "_socket", "ssl", "webbrowser", "http", "urllib", "urllib3", "requests",
	"aiohttp", "httpx", "ftplib", "smtplib", "telnetlib", "poplib", "imaplib", "nntplib",
	"xmlrpc", "socketserver", "asynchat", "asyncore", "io", "_io", "pathlib", "tempfile", "glob",
	"fileinput", "zipfile", "tarfile", "gzip", "bz2", "lzma", "mmap", "sqlite3", "dbm",
	"linecache", "filecmp", "fcntl", "select", "selectors", "mailbox", "wave", "aifc",
	"sunau", "netrc", "logging", "uuid",
)

// Known data reconstruction: what PyTorch, NumPy and plain containers pickle to.
var lowNames = set(
	"torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
	"torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_parameter",
	"torch._utils._rebuild_parameter_with_state", "torch._utils._rebuild_qtensor",
	"torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_sparse_csr_tensor",
	"torch._utils._rebuild_nested_tensor", "torch._utils._rebuild_device_tensor_from_numpy",
	"torch._utils._rebuild_meta_tensor_no_storage", "torch._utils._rebuild_wrapper_subclass",
	"torch._tensor._rebuild_from_type", "torch._tensor._rebuild_from_type_v2",
	"torch.nn.parameter.Parameter", "torch.Size", "torch.device",
	"torch.FloatStorage", "torch.DoubleStorage", "torch.HalfStorage", "torch.BFloat16Storage",
	"torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage",
	"torch.ByteStorage", "torch.BoolStorage", "torch.ComplexFloatStorage",
	"torch.ComplexDoubleStorage", "torch.QUInt8Storage", "torch.QInt8Storage",
	"torch.QInt32Storage", "torch.QUInt4x2Storage", "torch.QUInt2x4Storage",
	"torch.UntypedStorage", "torch.storage.UntypedStorage", "torch.storage.TypedStorage",
	"torch.float16", "torch.float32", "torch.float64", "torch.bfloat16", "torch.half",
	"torch.float", "torch.double", "torch.int8", "torch.int16", "torch.int32", "torch.int64",
	"torch.uint8", "torch.bool", "torch.long", "torch.int", "torch.short", "torch.complex64",
	"torch.complex128", "torch.float8_e4m3fn", "torch.float8_e5m2",
	"numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
	"numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
	"numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
	"numpy.ndarray", "numpy.dtype", "numpy.core.multiarray.ndarray",
	"collections.OrderedDict", "collections.defaultdict", "collections.Counter",
	"collections.deque",
	"builtins.set", "builtins.frozenset", "builtins.bytearray", "builtins.bytes",
	"builtins.slice", "builtins.complex", "builtins.range", "builtins.xrange",
	"builtins.dict", "builtins.list", "builtins.tuple", "builtins.int", "builtins.long",
	"builtins.float", "builtins.str", "builtins.unicode", "builtins.bool", "builtins.object",
	"copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__",
	"_codecs.encode", "datetime.datetime", "datetime.date", "datetime.time",
	"datetime.timedelta", "datetime.timezone", "decimal.Decimal", "fractions.Fraction",
	"argparse.Namespace", "pathlib.PosixPath", "pathlib.PurePosixPath", "pathlib.WindowsPath",
	"pathlib.PureWindowsPath", "pathlib.Path", "uuid.UUID",
)

// lowModules are modules every name of which is a data type (NumPy's dtype classes).
var lowModules = set("numpy.dtypes")

func set(v ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(v))
	for _, s := range v {
		m[s] = struct{}{}
	}
	return m
}

func in(m map[string]struct{}, k string) bool {
	_, ok := m[k]
	return ok
}

// inModules reports whether module or one of its parent packages is in m.
func inModules(m map[string]struct{}, module string) bool {
	for {
		if in(m, module) {
			return true
		}
		i := strings.LastIndexByte(module, '.')
		if i < 0 {
			return false
		}
		module = module[:i]
	}
}

// Grade grades an import of name from module as ModelScan does: CRITICAL for code execution,
// HIGH for network and file access, LOW for known tensor and container reconstruction, MEDIUM
// for everything else. Python 2 module names are graded as the module CPython maps them to.
//
// A dotted name (protocol 4 resolves "a.b.c" by attribute access from the module) is graded as
// the import of its last part from the module plus its other parts; any part that names a
// dangerous module or builtin (torch has an attribute "os") or a dunder attribute (a route to
// __globals__ and __builtins__) makes it CRITICAL or HIGH, whatever the module.
func Grade(module, name string) Severity {
	if m, ok := py2Modules[module]; ok {
		module = m
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		sev := gradeSimple(module+"."+name[:i], name[i+1:])
		for _, part := range strings.Split(name, ".") {
			switch {
			case strings.HasPrefix(part, "__") && strings.HasSuffix(part, "__"),
				in(criticalModules, part), in(criticalNames, "builtins."+part):
				return SeverityCritical
			case in(highModules, part):
				sev = max(sev, SeverityHigh)
			}
		}
		return sev
	}
	return gradeSimple(module, name)
}

func gradeSimple(module, name string) Severity {
	full := module + "." + name
	switch {
	case in(lowNames, full):
		return SeverityLow
	case in(criticalNames, full), inModules(criticalModules, module):
		return SeverityCritical
	case inModules(highModules, module):
		return SeverityHigh
	case in(lowModules, module):
		return SeverityLow
	}
	return SeverityMedium
}
