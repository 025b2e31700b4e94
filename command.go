package basicaudit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/basicaudit/caddy-basicaudit/internal/htpasswd"
	"github.com/basicaudit/caddy-basicaudit/internal/integrity"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "basicaudit",
		Usage: "verify|check-users ...",
		Short: "Checks audit logs and users files of audited_basic_auth",
		Long: `
Tools for the audited_basic_auth handler.

  verify [--key <file>] [--head <mac>] [--partial] <log>...
      Checks the integrity chains of audit logs written with an
      integrity key: plain and gzip-compressed (rolled) files, in any
      order, other loggers' lines skipped. Exit status 0 when every chain
      is intact, 1 when an event was modified, inserted, deleted,
      reordered or truncated, 2 when the input is unusable. --partial
      accepts chains whose first events are not in the files (rolled
      files that roll_keep deleted): their first event present is
      trusted, and the rest is checked.

  check-users <htpasswd>...
      Lists every account with its hash format and strength, and whether
      audited_basic_auth accepts it. Exit status 1 when any account is
      refused or weak, 2 when a file cannot be read. Prints no hash.
`,
		CobraFunc: func(cmd *cobra.Command) {
			verify := &cobra.Command{
				Use:   "verify [--key <file>] [--head <mac>] [--partial] <log>...",
				Short: "Checks the integrity chains of audit logs",
				Args:  cobra.MinimumNArgs(1),
				RunE: caddycmd.WrapCommandFuncForCobra(func(fl caddycmd.Flags) (int, error) {
					status := runVerify(os.Stdout, fl.String("key"), fl.String("head"),
						fl.Bool("partial"), fl.Args())
					return status, statusError(status, "integrity chain broken")
				}),
			}
			verify.Flags().String("key", "",
				"file holding the integrity key (default: the key in $BASICAUDIT_INTEGRITY_KEY)")
			verify.Flags().String("head", "", "the mac the newest chain must end with, to find a cut tail")
			verify.Flags().Bool("partial", false, "accept chains whose beginning is in files no longer kept")

			checkUsers := &cobra.Command{
				Use:   "check-users <htpasswd>...",
				Short: "Reports the accounts of htpasswd files",
				Args:  cobra.MinimumNArgs(1),
				RunE: caddycmd.WrapCommandFuncForCobra(func(fl caddycmd.Flags) (int, error) {
					status := runCheckUsers(os.Stdout, fl.Args())
					return status, statusError(status, "accounts refused or weak")
				}),
			}
			cmd.AddCommand(verify, checkUsers)
		},
	})
}

// statusError is the error that makes Caddy's command runner exit with
// status 1 (status 2 exits on its own); the report says the rest.
func statusError(status int, what string) error {
	switch status {
	case 0:
		return nil
	case 1:
		return errors.New(what)
	}
	return errors.New("unusable input")
}

// runVerify checks logs against the integrity key and prints a report.
func runVerify(w io.Writer, keyFile, head string, partial bool, logs []string) int {
	key, err := integrityKey(keyFile)
	if err != nil {
		fmt.Fprintf(w, "verify: %v\n", err)
		return 2
	}
	report, err := integrity.Verify(key, logs, head)
	if err != nil {
		fmt.Fprintf(w, "verify: %v\n", err)
		return 2
	}
	if partial {
		for i := range report.Chains {
			if m := report.Chains[i].Missing; m != nil {
				fmt.Fprintf(w, "chain %s: beginning not in the files (--partial): "+
					"checked from %s:%d on\n", m.Chain, m.File, m.Line)
				report.Chains[i].Missing = nil
			}
		}
	}
	integrity.WriteReport(w, report)
	present := make(map[string]bool, len(report.Chains))
	for _, c := range report.Chains {
		present[c.Chain] = true
	}
	for _, c := range report.Chains {
		// Not an error: retention may have removed it. But an analyst
		// should know that the files do not hold it.
		if p := c.PrevHead; p != nil && !present[p.Chain] {
			fmt.Fprintf(w, "chain %s: not in the files (named by the start of "+
				"chain %s, ended at seq %d)\n", p.Chain, c.Chain, p.Seq)
		}
	}
	if wrongKey(report) {
		fmt.Fprintln(w, "every chain fails at its first event: "+
			"check that the key is the one the logs were written with")
	}
	return integrity.ExitCode(report)
}

// wrongKey reports whether every chain failed at its first event, which
// is what a wrong key looks like.
func wrongKey(r integrity.Report) bool {
	for _, c := range r.Chains {
		if c.Problem == nil || c.Problem.Seq != 1 || c.Verified != 0 {
			return false
		}
	}
	return len(r.Chains) > 0
}

// integrityKey reads the key as Caddy's {file.*} placeholder would: the
// file's content without one trailing line break. Without a file it
// comes from the environment.
func integrityKey(file string) ([]byte, error) {
	if file == "" {
		key := os.Getenv("BASICAUDIT_INTEGRITY_KEY")
		if key == "" {
			return nil, errors.New("no key: give --key <file> or set BASICAUDIT_INTEGRITY_KEY")
		}
		return []byte(key), nil
	}
	key, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the key: %v", err)
	}
	key = bytes.TrimSuffix(key, []byte("\n"))
	key = bytes.TrimSuffix(key, []byte("\r"))
	if len(key) == 0 {
		return nil, errors.New("the key file is empty")
	}
	return key, nil
}

// runCheckUsers prints one row per account of each file.
func runCheckUsers(w io.Writer, files []string) int {
	status := 0
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tLINE\tUSER\tFORMAT\tSTRENGTH\tACCEPTED")
	for _, file := range files {
		rows, err := checkUsersFile(file)
		if err != nil {
			tw.Flush()
			fmt.Fprintf(w, "check-users: %v\n", err)
			return 2
		}
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n",
				file, r.line, r.user, r.format, r.strength, r.accepted)
			if r.strength != "ok" || r.accepted != "yes" {
				status = 1
			}
		}
	}
	tw.Flush()
	return status
}

type userRow struct {
	line                             int
	user, format, strength, accepted string
}

// checkUsersFile reads one htpasswd file line by line, so that one bad
// line is reported without hiding the others.
func checkUsersFile(file string) ([]userRow, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	var rows []userRow
	seen := make(map[string]int)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), htpasswd.MaxLine+2)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		trimmed := strings.TrimRight(line, " \t\r")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		user, _, _ := strings.Cut(trimmed, ":")
		row := userRow{line: n, user: sanitize(user, maxUsername), format: "-", strength: "-"}

		entries, err := htpasswd.Parse(strings.NewReader(trimmed), true)
		switch {
		case err != nil:
			// The parser numbers this single line 1; the file's number
			// is in the row.
			row.accepted = "no: " + strings.TrimPrefix(err.Error(), "line 1: ")
		case seen[user] != 0:
			row.accepted = fmt.Sprintf("no: defined more than once (first on line %d)", seen[user])
		default:
			hash := entries[0].Hash
			row.format = string(hash.Format())
			row.strength = "ok"
			if weakness := hash.Weakness(); weakness != "" {
				row.strength = "weak: " + weakness
			}
			row.accepted = "yes"
			if hash.Format().Legacy() {
				row.accepted = "only with legacy_hashes allow"
			}
		}
		if seen[user] == 0 {
			seen[user] = n
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %v", file, err)
	}
	return rows, nil
}
