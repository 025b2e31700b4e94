// Command caddy is Caddy with its standard modules and the
// audited_basic_auth handler, so that `go run ./cmd/caddy` serves the
// examples without xcaddy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// Caddy's standard modules and this project's handler.
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/basicaudit/caddy-basicaudit"
)

func main() {
	caddycmd.Main()
}
