package main

// The dependency rules of DESIGN.md §1, enforced: platform/* never imports
// modules/*, a module never imports another module, and only package main at
// the repository root imports module packages. Every .go file counts, tests
// and files behind build tags included. The top-level directory holds only the
// entries DESIGN.md allows.

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const modulePath = "github.com/fitloop/fitloop"

// goFileImports maps each .go file (slash path relative to the repository
// root) to the import paths it names.
func goFileImports(tb testing.TB) map[string][]string {
	tb.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(p)
		out[rel] = []string{}
		for _, imp := range f.Imports {
			ip, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			out[rel] = append(out[rel], ip)
		}
		return nil
	})
	require.NoError(tb, err)
	return out
}

// moduleOf returns the module name ("users") of a modules/<name>/... path,
// whether it is an import path or a file path.
func moduleOf(p string) (string, bool) {
	p = strings.TrimPrefix(p, modulePath+"/")
	rest, ok := strings.CutPrefix(p, "modules/")
	if !ok {
		return "", false
	}
	name, _, _ := strings.Cut(rest, "/")
	return name, name != ""
}

func TestArchitecture(t *testing.T) {
	t.Parallel()
	files := goFileImports(t)
	var platformFiles, moduleFiles int
	for file := range files {
		switch {
		case strings.HasPrefix(file, "platform/"):
			platformFiles++
		case strings.HasPrefix(file, "modules/"):
			moduleFiles++
		}
	}
	require.NotZero(t, platformFiles, "the walk found no platform files: is the test running at the repository root?")
	require.NotZero(t, moduleFiles, "the walk found no module files")

	t.Run("platform_never_imports_modules", func(t *testing.T) {
		for file, imports := range files {
			if !strings.HasPrefix(file, "platform/") {
				continue
			}
			for _, ip := range imports {
				_, isModule := moduleOf(ip)
				assert.False(t, isModule, "%s imports %s: platform must not know the modules", file, ip)
			}
		}
	})
	t.Run("no_module_imports_another_module", func(t *testing.T) {
		for file, imports := range files {
			own, ok := moduleOf(file)
			if !ok {
				continue
			}
			for _, ip := range imports {
				if other, isModule := moduleOf(ip); isModule && other != own {
					assert.Fail(t, "module imports module",
						"%s (module %s) imports %s: declare the interface in %s's deps.go and let main.go pass it in",
						file, own, ip, own)
				}
			}
		}
	})
	t.Run("only_package_main_imports_modules", func(t *testing.T) {
		for file, imports := range files {
			if path.Dir(file) == "." {
				continue
			}
			own, inModule := moduleOf(file)
			for _, ip := range imports {
				m, isModule := moduleOf(ip)
				if !isModule || (inModule && m == own) {
					continue
				}
				assert.Fail(t, "module imported outside main", "%s imports %s: only main.go wires modules", file, ip)
			}
		}
	})
	t.Run("the_root_package_is_main", func(t *testing.T) {
		fset := token.NewFileSet()
		for file := range files {
			if path.Dir(file) != "." {
				continue
			}
			f, err := parser.ParseFile(fset, file, nil, parser.PackageClauseOnly)
			require.NoError(t, err)
			assert.Equal(t, "main", f.Name.Name, file)
		}
	})
}

// allowedTopLevel is every entry DESIGN.md §1 allows at the top of the repo;
// *_test.go files and dotfiles are allowed besides.
var allowedTopLevel = []string{
	"main.go", "config.yaml", "go.mod", "go.sum", "Dockerfile", "README.md",
	"modules", "platform", "web", "migrations", ".ci", "docs", "bench", "deploy",
}

func TestTopLevelEntries(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	for _, e := range entries {
		name := e.Name()
		switch {
		case slices.Contains(allowedTopLevel, name),
			strings.HasSuffix(name, "_test.go"),
			strings.HasPrefix(name, "."):
			continue
		case gitIgnored(name):
			// Local artifacts (./data from `go run .`, a built binary) are
			// never committed, so they do not shape the repository.
			continue
		}
		assert.Fail(t, "unexpected top-level entry",
			"%q is not allowed at the top of the repository (DESIGN.md §1 lists what is)", name)
	}
}

// gitIgnored reports whether git ignores name; false when git is unavailable,
// so the check is then stricter, never looser.
func gitIgnored(name string) bool {
	if _, err := exec.LookPath("git"); err != nil {
		return false
	}
	return exec.Command("git", "check-ignore", "-q", "--", name).Run() == nil
}
