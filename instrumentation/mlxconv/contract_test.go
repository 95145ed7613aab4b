package mlxconv

import (
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// contractDoc is the document the constants are held to.
const contractDoc = "../../docs/DATA-CONTRACT.md"

// packageConstants type-checks this package's non-test files (whatever files exist, so
// constants that other areas add in new files are covered) and returns every package-level
// string constant: name -> value.
func packageConstants(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatalf("list the package: %v", err)
	}
	var files []*ast.File
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", e.Name(), err)
		}
		files = append(files, f)
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	pkg, err := conf.Check("github.com/otel-mlx/otel-mlx/instrumentation/mlxconv", fset, files, nil)
	if err != nil {
		t.Fatalf("type-check the package: %v", err)
	}
	out := map[string]string{}
	for _, name := range pkg.Scope().Names() {
		c, ok := pkg.Scope().Lookup(name).(*types.Const)
		if !ok || c.Val().Kind() != constant.String {
			continue
		}
		out[name] = constant.StringVal(c.Val())
	}
	if len(out) == 0 {
		t.Fatal("found no string constants in the package")
	}
	return out
}

var (
	backticked = regexp.MustCompile("`([^`]+)`")
	// A contract name: dot-separated segments of letters, digits and underscores, starting
	// with a letter or underscore (gen_ai.request.model, mlx.model.load.succeeded, chat,
	// _OTHER, AML.T0010.003). Wildcards (mlx.memory.*), URIs and paths, numbers (404) and
	// example values with spaces are not names.
	nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$`)
	// A span-name template: names and {placeholders} separated by single spaces, with at
	// least one placeholder (load_model {model}).
	templateRE = regexp.MustCompile(`^(\{[a-z_.]+\}|[a-z_]+)( (\{[a-z_.]+\}|[a-z_]+))*$`)
)

// isContractName applies the rule above. true and false are literal values of boolean
// attributes (mlxanomaly.flag), not names.
func isContractName(s string) bool {
	if s == "true" || s == "false" {
		return false
	}
	if nameRE.MatchString(s) {
		return true
	}
	return strings.Contains(s, "{") && templateRE.MatchString(s)
}

// docTableNames returns every contract name in a table row of the document, with the line
// it first appears on.
func docTableNames(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the data contract: %v", err)
	}
	names := map[string]int{}
	rows := 0
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			continue
		}
		rows++
		for _, m := range backticked.FindAllStringSubmatch(line, -1) {
			if isContractName(m[1]) {
				if _, seen := names[m[1]]; !seen {
					names[m[1]] = i + 1
				}
			}
		}
	}
	if rows < 20 {
		t.Fatalf("%s has %d table rows: the parser no longer finds the tables", path, rows)
	}
	return names
}

func TestDocumentAndConstantsAgree(t *testing.T) {
	consts := packageConstants(t)
	doc := docTableNames(t, filepath.FromSlash(contractDoc))

	values := map[string][]string{}
	for name, v := range consts {
		values[v] = append(values[v], name)
	}
	var noConst, notDocumented []string
	for n, line := range doc {
		if _, ok := values[n]; !ok {
			noConst = append(noConst, n+" (line "+itoa(line)+")")
		}
	}
	for v, names := range values {
		if _, ok := doc[v]; !ok {
			sort.Strings(names)
			notDocumented = append(notDocumented, strings.Join(names, ", ")+" = "+strQuote(v))
		}
	}
	sort.Strings(noConst)
	sort.Strings(notDocumented)
	for _, n := range noConst {
		t.Errorf("%s names %s in a table, but package mlxconv has no constant with that value: add one in the file of its area", contractDoc, n)
	}
	for _, n := range notDocumented {
		t.Errorf("constant %s is in no table of %s: add its row (or remove the constant)", n, contractDoc)
	}
}

// The rule must keep finding names and must not take prose values for names.
func TestIsContractName(t *testing.T) {
	for _, s := range []string{"gen_ai.request.model", "mlx.model.load.succeeded", "chat", "_OTHER",
		"AML.T0010.003", "load_model {model}", "{gen_ai.operation.name} {gen_ai.request.model}"} {
		if !isContractName(s) {
			t.Errorf("isContractName(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"mlx.memory.*", "file:///abs/path", "https://…", "hf://org/repo@revision",
		"service/model/operation", "404", "true", "false", "a b", "{x", ""} {
		if isContractName(s) {
			t.Errorf("isContractName(%q) = true, want false", s)
		}
	}
}

// The document parser must report a name missing from the constants: a table with an
// unknown name yields it.
func TestDocTableNamesFindsRows(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.md")
	var b strings.Builder
	b.WriteString("prose `not.in.table`\n\n| a | b |\n|---|---|\n")
	for range 20 {
		b.WriteString("| `mlx.made.up` | `x/y`, `true` |\n")
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	got := docTableNames(t, p)
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	if !slices.Equal(keys, []string{"mlx.made.up"}) {
		t.Errorf("docTableNames = %v, want [mlx.made.up]", keys)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

func strQuote(s string) string { return "\"" + s + "\"" }
