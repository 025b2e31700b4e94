package basicaudit_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/basicaudit/caddy-basicaudit"
)

var update = flag.Bool("update", false, "rewrite the JSON twins of the examples")

// exampleTwins lists every example Caddyfile with the path of its JSON
// twin: examples/Caddyfile has Caddyfile.json, examples/x.Caddyfile has
// x.json.
func exampleTwins(t *testing.T) map[string]string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"examples/Caddyfile", "examples/*.Caddyfile", "examples/*/*.Caddyfile"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	twins := make(map[string]string)
	for _, f := range files {
		if filepath.Base(f) == "Caddyfile" {
			twins[f] = f + ".json"
		} else {
			twins[f] = strings.TrimSuffix(f, ".Caddyfile") + ".json"
		}
	}
	if len(twins) < 2 {
		t.Fatalf("found %d example Caddyfiles, want at least 2", len(twins))
	}
	return twins
}

// TestExamplesAdaptToTheirJSONTwins keeps every example's JSON twin equal
// to what `caddy adapt` makes of its Caddyfile. Run with -update after
// changing an example.
func TestExamplesAdaptToTheirJSONTwins(t *testing.T) {
	adapter := caddyconfig.GetAdapter("caddyfile")
	for caddyfile, twin := range exampleTwins(t) {
		t.Run(caddyfile, func(t *testing.T) {
			body, err := os.ReadFile(caddyfile)
			if err != nil {
				t.Fatal(err)
			}
			adapted, warnings, err := adapter.Adapt(body, map[string]any{"filename": caddyfile})
			if err != nil {
				t.Fatalf("adapting: %v", err)
			}
			for _, w := range warnings {
				t.Errorf("warning: %s", w.String())
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, adapted, "", "\t"); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')

			if *update {
				if err := os.WriteFile(twin, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(twin)
			if err != nil {
				t.Fatalf("reading the twin (run go test -run Examples -update): %v", err)
			}
			if !bytes.Equal(want, pretty.Bytes()) {
				t.Errorf("%s differs from the adapted %s; run go test -run Examples -update\ngot:\n%s", twin,
					caddyfile, pretty.Bytes())
			}
		})
	}
}
