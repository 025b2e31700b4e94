package basicaudit

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeSyntaxMatchesDocComment keeps the Caddyfile syntax of the
// README identical to the unmarshaler's doc comment.
func TestReadmeSyntaxMatchesDocComment(t *testing.T) {
	src, err := os.ReadFile("caddyfile.go")
	if err != nil {
		t.Fatal(err)
	}
	var doc []string
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		switch {
		case strings.HasPrefix(line, "//\taudited_basic_auth "):
			in = true
		case in && !strings.HasPrefix(line, "//\t"):
			in = false
		}
		if in {
			doc = append(doc, strings.TrimPrefix(line, "//\t"))
		}
	}
	if len(doc) < 5 {
		t.Fatalf("found %d syntax lines in the doc comment", len(doc))
	}

	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := "```\n" + strings.Join(doc, "\n") + "\n```"
	if !strings.Contains(string(readme), want) {
		t.Errorf("README.md does not hold the syntax of the doc comment:\n%s", want)
	}
}
