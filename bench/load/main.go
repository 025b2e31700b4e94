// Command load drives HTTP Basic requests at one URL for a while and
// prints what it measured as one JSON object: requests per second,
// latency percentiles and the count of each status. It is the load
// generator of the comparison scripts in bench/.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

type report struct {
	URL       string         `json:"url"`
	Mode      string         `json:"mode"`
	Requests  int            `json:"requests"`
	Seconds   float64        `json:"seconds"`
	PerSecond float64        `json:"per_second"`
	P50ms     float64        `json:"p50_ms"`
	P99ms     float64        `json:"p99_ms"`
	Maxms     float64        `json:"max_ms"`
	Statuses  map[string]int `json:"statuses"`
	Errors    int            `json:"errors"`
}

func main() {
	url := flag.String("url", "", "the URL to request (loopback only)")
	user := flag.String("user", "", "username")
	password := flag.String("password", "", "password")
	mode := flag.String("mode", "same", "same: the given credentials on every request; "+
		"distinct: a different wrong password on every request; "+
		"spray: the given credentials with a distinct X-Forwarded-For client per request")
	conns := flag.Int("c", 8, "concurrent connections")
	duration := flag.Duration("d", 5*time.Second, "how long to run")
	requests := flag.Int("n", 0, "stop after this many requests (0: run for -d)")
	from := flag.String("from", "", "local loopback address to send from, to play a distinct client")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "load: -url is required")
		os.Exit(2)
	}

	transport := &http.Transport{
		MaxIdleConnsPerHost: *conns,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			// The scripts aim only at their own servers on loopback.
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				return nil, fmt.Errorf("refusing non-loopback address %s", addr)
			}
			d := &net.Dialer{}
			if *from != "" {
				d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(*from)}
			}
			return d.DialContext(ctx, network, addr)
		},
	}
	client := &http.Client{Transport: transport, Timeout: 60 * time.Second}

	var (
		seq      atomic.Int64
		mu       sync.Mutex
		lats     []time.Duration
		statuses = map[string]int{}
		errs     int
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	start := time.Now()
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			localStatus := map[string]int{}
			localErrs := 0
			for ctx.Err() == nil {
				n := seq.Add(1)
				if *requests > 0 && n > int64(*requests) {
					break
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
				pw := *password
				switch *mode {
				case "distinct":
					pw = "wrong-" + strconv.FormatInt(n, 10)
				case "spray":
					req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255))
				}
				if *user != "" || pw != "" {
					req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(*user+":"+pw)))
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						localErrs++
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				local = append(local, time.Since(t0))
				localStatus[strconv.Itoa(resp.StatusCode)]++
			}
			mu.Lock()
			lats = append(lats, local...)
			for k, v := range localStatus {
				statuses[k] += v
			}
			errs += localErrs
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()

	slices.Sort(lats)
	pct := func(p float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		i := int(p * float64(len(lats)-1))
		return float64(lats[i].Microseconds()) / 1000
	}
	r := report{
		URL: *url, Mode: *mode, Requests: len(lats), Seconds: elapsed,
		PerSecond: float64(len(lats)) / elapsed,
		P50ms:     pct(0.50), P99ms: pct(0.99), Maxms: pct(1),
		Statuses: statuses, Errors: errs,
	}
	_ = json.NewEncoder(os.Stdout).Encode(r)
}
