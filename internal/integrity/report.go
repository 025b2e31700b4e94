package integrity

import (
	"fmt"
	"io"
)

// WriteReport prints a report for the analyst: per chain, either what
// verified or its first problem, with the file and line to look at.
func WriteReport(w io.Writer, r Report) {
	for _, c := range r.Chains {
		if p := c.PrevHead; p != nil {
			fmt.Fprintf(w, "chain %s: follows chain %s at seq %d\n", c.Chain, p.Chain, p.Seq)
		}
		if p := c.Missing; p != nil {
			writeProblem(w, p)
		}
		if p := c.Problem; p != nil {
			writeProblem(w, p)
			continue
		}
		if c.Verified == 0 {
			fmt.Fprintf(w, "chain %s: no event verified\n", c.Chain)
			continue
		}
		fmt.Fprintf(w, "chain %s: %d events verified (seq %d..%d), head %s\n",
			c.Chain, c.Verified, c.First, c.Last, c.Head.MAC)
	}
	if r.Skipped > 0 {
		fmt.Fprintf(w, "lines skipped, not audit events: %d\n", r.Skipped)
	}
}

func writeProblem(w io.Writer, p *Problem) {
	fmt.Fprintf(w, "chain %s: %s at %s:%d (seq %d): %s\n", p.Chain, p.Kind, p.File, p.Line, p.Seq, p.Detail)
}

// ExitCode returns the exit status of the verify command for a report:
// 0 if every chain is intact, 1 if any has a problem or misses its
// beginning.
func ExitCode(r Report) int {
	for _, c := range r.Chains {
		if c.Problem != nil || c.Missing != nil {
			return 1
		}
	}
	return 0
}
