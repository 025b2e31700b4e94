package basicaudit

import (
	"net/http"
	"slices"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// strongHash is a hash whose cost is not weak, so that the events of
// these tests come from the password alone.
func strongHash(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), 10)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestWeakCredentials(t *testing.T) {
	adminHash := strongHash(t, "admin")
	strong := strongHash(t, "Vq7-orbit-Lantern-93")
	tests := []struct {
		name        string
		mode        string
		user, pw    string
		hash        string
		wantStatus  int
		wantReasons []string // nil: no event
	}{
		{"warn", "warn", "admin", "admin", adminHash, 204, []string{"same_as_username", "default_pair",
			"common_password", "too_short", "low_score"}},
		{"default is warn", "", "admin", "admin", adminHash, 204, []string{"same_as_username",
			"default_pair", "common_password", "too_short", "low_score"}},
		{"reject", "reject", "admin", "admin", adminHash, 403, []string{"same_as_username",
			"default_pair", "common_password", "too_short", "low_score"}},
		{"off", "off", "admin", "admin", adminHash, 204, nil},
		{"strong password", "warn", "carla", "Vq7-orbit-Lantern-93", strong, 204, nil},
		{"weak hash only", "warn", "dora", "Vq7-orbit-Lantern-93", mustBcrypt("Vq7-orbit-Lantern-93"),
			204, []string{"weak_hash"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			weakSeen.Lock()
			clear(weakSeen.pairs)
			weakSeen.Unlock()

			a, logs := newHandler(t, &AuditedBasicAuth{
				WeakCredentials: tt.mode,
				Accounts:        []Account{{Username: tt.user, Password: tt.hash}},
			})
			res := serve(t, a, request(basic(tt.user, tt.pw)))
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d", res.status, tt.wantStatus)
			}
			weak := events(logs, "authn_weak_credential")
			if tt.wantReasons == nil {
				if len(weak) != 0 {
					t.Errorf("weak credential events %v, want none", weak)
				}
				return
			}
			if len(weak) != 1 {
				t.Fatalf("got %d weak credential events, want 1", len(weak))
			}
			reasons, _ := weak[0]["reasons"].([]any)
			var got []string
			for _, r := range reasons {
				got = append(got, r.(string))
			}
			if !slices.Equal(got, tt.wantReasons) {
				t.Errorf("reasons = %v, want %v", got, tt.wantReasons)
			}
			if weak[0]["user_id"] != tt.user || weak[0]["format"] != "bcrypt" {
				t.Errorf("event = %v", weak[0])
			}
			if tt.wantStatus == http.StatusForbidden {
				fails := events(logs, "authn_login_fail")
				if len(fails) != 1 || fails[0]["reason"] != "weak_credential" || fails[0]["status"] != 403 {
					t.Errorf("failure events = %v, want one weak_credential 403", fails)
				}
				if res.nextCalls != 0 {
					t.Errorf("a rejected login reached the next handler")
				}
			}
		})
	}
}

// TestWeakCredentialReportedOnce: once per user and hash, across
// handlers (a reload), and again when the hash changes.
func TestWeakCredentialReportedOnce(t *testing.T) {
	weakSeen.Lock()
	clear(weakSeen.pairs)
	weakSeen.Unlock()
	first := mustBcrypt("judy")
	count := func(hash string, logins int) int {
		a, logs := newHandler(t, &AuditedBasicAuth{
			WeakCredentials: "warn",
			Accounts:        []Account{{Username: "judy", Password: hash}},
		})
		for range logins {
			serve(t, a, request(basic("judy", "judy")))
		}
		return len(events(logs, "authn_weak_credential"))
	}
	if got := count(first, 3); got != 1 {
		t.Errorf("first handler: %d events, want 1", got)
	}
	if got := count(first, 2); got != 0 {
		t.Errorf("after a reload, same hash: %d events, want 0", got)
	}
	if got := count(mustBcrypt("judy"), 1); got != 1 {
		t.Errorf("changed hash: %d events, want 1", got)
	}
}
