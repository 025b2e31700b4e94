package verification

import (
	"testing"
	"time"
)

func TestKeyer(t *testing.T) {
	k := NewKeyer()
	first, second := k.Key("alice", "pw"), k.Key("alice", "pw")
	if first != second {
		t.Error("the same credentials gave different keys")
	}
	tests := []struct{ u1, p1, u2, p2 string }{
		{"alice", "pw", "alice", "pw2"},
		{"alice", "pw", "bob", "pw"},
		{"ab", "c", "a", "bc"}, // the separator keeps the split apart
	}
	for _, tt := range tests {
		if k.Key(tt.u1, tt.p1) == k.Key(tt.u2, tt.p2) {
			t.Errorf("%s:%s and %s:%s share a key", tt.u1, tt.p1, tt.u2, tt.p2)
		}
	}
	if NewKeyer().Key("alice", "pw") == k.Key("alice", "pw") {
		t.Error("two keyers share a key: the key is not random per process")
	}
}

func TestCacheHitNeedsSameAccountAndTime(t *testing.T) {
	k := NewKeyer()
	key := k.Key("alice", "pw")
	acct, other := new(int), new(int)
	now := time.Unix(1000, 0)

	c := NewCache(10, time.Minute)
	if c.Hit(key, acct, now) {
		t.Fatal("hit on an empty cache")
	}
	c.Add(key, acct, now)
	tests := []struct {
		name    string
		account any
		at      time.Time
		want    bool
	}{
		{"same account, fresh", acct, now.Add(59 * time.Second), true},
		{"changed account", other, now, false},
		{"expired", acct, now.Add(time.Minute), false},
	}
	for _, tt := range tests {
		if got := c.Hit(key, tt.account, tt.at); got != tt.want {
			t.Errorf("%s: Hit = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCacheIsBounded(t *testing.T) {
	k := NewKeyer()
	acct := new(int)
	now := time.Unix(1000, 0)
	c := NewCache(100, time.Minute)
	for i := range 1000 {
		c.Add(k.Key("user", string(rune('a'+i%26))+string(rune(i))), acct, now)
		if c.Len() > 100 {
			t.Fatalf("cache holds %d entries, limit 100", c.Len())
		}
	}
	last := k.Key("last", "pw")
	c.Add(last, acct, now)
	if !c.Hit(last, acct, now) {
		t.Error("the newest entry was evicted")
	}
}

func TestCacheDisabled(t *testing.T) {
	k := NewKeyer()
	for _, c := range []*Cache{NewCache(0, time.Minute), NewCache(10, 0)} {
		key := k.Key("alice", "pw")
		c.Add(key, 1, time.Unix(0, 0))
		if c.Hit(key, 1, time.Unix(0, 0)) {
			t.Errorf("disabled cache (size %d, ttl %v) hit", c.size, c.ttl)
		}
	}
}

func BenchmarkKeyAndHit(b *testing.B) {
	k := NewKeyer()
	c := NewCache(10000, time.Minute)
	acct := new(int)
	now := time.Now()
	c.Add(k.Key("alice", "correct horse battery"), acct, now)
	b.ReportAllocs()
	for b.Loop() {
		if !c.Hit(k.Key("alice", "correct horse battery"), acct, now) {
			b.Fatal("miss")
		}
	}
}
