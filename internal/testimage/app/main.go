// Command app is the program inside gantry's test images; its first argument picks a behaviour
// (serve, env, exit, sleep, alloc, ignore-term, caps, print, flood, cat, write, ls, whoami, pwd, get, fill, grow).
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: app serve ADDR | env | exit N | sleep S | alloc MB | ignore-term | caps | print N | flood N [BYTES [stats]] | cat F | write F TEXT | ls D | whoami | pwd | get URL [SECONDS] | fill DIR")
	}
	cmd, args := os.Args[1], os.Args[2:]
	switch cmd {
	case "serve":
		serve(arg(args, 0, ":8080"))
	case "env":
		env := os.Environ()
		slices.Sort(env)
		for _, e := range env {
			fmt.Println(e)
		}
	case "exit":
		os.Exit(atoi(arg(args, 0, "0")))
	case "sleep":
		time.Sleep(time.Duration(atoi(arg(args, 0, "3600"))) * time.Second)
	case "alloc":
		alloc(atoi(arg(args, 0, "16")))
	case "ignore-term":
		// Catch SIGTERM and drop it: a process that blocks with no runnable goroutine would be
		// killed by Go's deadlock detector, and Ignore alone leaves nothing to block on.
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM)
		fmt.Println("ignoring SIGTERM")
		for range sigs {
			fmt.Println("got SIGTERM, ignoring it")
		}
	case "caps":
		caps()
	case "print":
		for i := 1; i <= atoi(arg(args, 0, "10")); i++ {
			fmt.Println("line", i)
			time.Sleep(time.Millisecond)
		}
	case "flood":
		flood(atoi(arg(args, 0, "1000")), atoi(arg(args, 1, "100")), arg(args, 2, "") == "stats")
	case "cat":
		b, err := os.ReadFile(arg(args, 0, ""))
		check(err)
		os.Stdout.Write(b)
	case "write":
		check(os.WriteFile(arg(args, 0, ""), []byte(arg(args, 1, "")), 0o644))
	case "ls":
		ents, err := os.ReadDir(arg(args, 0, "."))
		check(err)
		for _, e := range ents {
			fmt.Println(e.Name())
		}
	case "whoami":
		fmt.Printf("uid=%d gid=%d\n", os.Getuid(), os.Getgid())
	case "get":
		get(arg(args, 0, ""), atoi(arg(args, 1, "60")))
	case "fill":
		fill(arg(args, 0, "/"))
	case "grow":
		grow(arg(args, 0, "/"), atoi(arg(args, 1, "1")))
	case "pwd":
		wd, err := os.Getwd()
		check(err)
		fmt.Println(wd)
	default:
		fail("unknown command " + cmd)
	}
}

func arg(args []string, i int, def string) string {
	if i < len(args) {
		return args[i]
	}
	return def
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	check(err)
	return n
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "app:", msg)
	os.Exit(2)
}

func serve(addr string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		host, _ := os.Hostname()
		env := map[string]string{}
		for _, e := range os.Environ() {
			k, v, _ := strings.Cut(e, "=")
			env[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"hostname": host, "env": env, "path": r.URL.Path, "ip": localIP(r)})
	})
	mux.HandleFunc("/health", health)
	lbRoutes(mux)
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.PathValue("code"))
		if err != nil || code < 100 || code > 999 {
			http.Error(w, "bad status code", http.StatusBadRequest)
			return
		}
		w.WriteHeader(code)
	})
	mux.HandleFunc("/sleep/{ms}", func(w http.ResponseWriter, r *http.Request) {
		ms, err := strconv.Atoi(r.PathValue("ms"))
		if err != nil {
			http.Error(w, "bad duration", http.StatusBadRequest)
			return
		}
		time.Sleep(time.Duration(ms) * time.Millisecond)
		fmt.Fprintln(w, "slept", ms)
	})
	fmt.Println("listening on", addr)
	check(http.ListenAndServe(addr, mux))
}

// alloc grows resident memory by mb megabytes at a time, touching every page, until killed.
func alloc(mb int) {
	var hold [][]byte
	for total := mb; ; total += mb {
		b := make([]byte, mb<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		hold = append(hold, b)
		fmt.Printf("allocated %d MB\n", total)
		time.Sleep(10 * time.Millisecond)
	}
}

func caps() {
	b, err := os.ReadFile("/proc/self/status")
	check(err)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "CapEff:") || strings.HasPrefix(line, "CapPrm:") || strings.HasPrefix(line, "CapBnd:") {
			fmt.Println(line)
		}
	}
}
