package passwords

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"$2y$10$/z4FFxkDULAFjUzfBrPM1.K1y2R7EE7AGoyX6NaKRtFLE/1V4D5p2",
		"$argon2id$v=19$m=47104,t=1,p=1$M03RD87MKBOKcwPxbp+Ovg$2l18Xpwle2CFQJ8cWV1ZM2viiEtBz3EA5P7WBBsY4Xc",
		"$5$rounds=1000$saltsaltsalt$MhYFDRpK1S9KR0o1meau6wzzuTvS9xDLSXtmfj9ENJ2",
		"$6$wuJ1pa15l6wiCvRC$rwMxEacdpThWxOxehBsR0yHV18QOUwIvIZX.A5wqwaNpCRJWPPH3Fxz7c7ybBInWQfie.J4ozO.YzaGp2st2K.",
		"$apr1$b4hzYeF7$zzpIdRyF7MjVlkIy/m5yt0",
		"{SHA}F/WZ9PxtuIpP2yyadrWdU4eK0og=",
		"{SSHA}NXfUlGN9CyIvUHavi05r6eruy/OKEQD+QgeZPA==",
		"XeLyYDy02z1IA",
		"hunter2",
		base64.StdEncoding.EncodeToString([]byte("$2a$14$SSAJBgZTeY15FAziCb43me.R04IPEdXJYADxf8uTZBCb3FF5ENJui")),
		"$6$rounds=$",
		"$argon2id$v=19$m=,t=,p=$$",
		"",
	} {
		f.Add(s)
	}
	// Every error must be one of those TestParseErrors checks, but for
	// its numbers: then none can carry a piece of its input.
	known := make(map[string]bool)
	for _, tt := range parseErrorCases() {
		if _, err := Parse(tt.encoded); err != nil {
			known[errorShape(err)] = true
		}
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		h, err := Parse(encoded)
		if err != nil {
			if !known[errorShape(err)] {
				t.Errorf("error %q is of no kind TestParseErrors checks", err)
			}
			return
		}
		// Only what costs nothing: a fuzzed hash may carry a high cost.
		d := Decoy(h)
		if d.Format() != h.Format() || d.Params() != h.Params() {
			t.Errorf("Decoy = %s %q, want %s %q", d.Format(), d.Params(), h.Format(), h.Params())
		}
		_ = h.Weakness()
		if Detect(encoded) != h.Format() {
			t.Errorf("Detect = %q, want %q", Detect(encoded), h.Format())
		}
	})
}

var digits = regexp.MustCompile(`[0-9]+`)

// errorShape returns the text of err with each number replaced by N,
// and without the mark of a base64-wrapped hash, which any error of a
// bcrypt or argon2id hash can carry.
func errorShape(err error) string {
	msg := strings.TrimSuffix(err.Error(), " (base64-encoded)")
	return digits.ReplaceAllString(msg, "N")
}
