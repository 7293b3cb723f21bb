// Command testprog is the program the runtime's tests run inside containers: one binary, many
// behaviours, statically linked so it runs in a rootfs with nothing else.
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testprog MODE [ARGS]")
		os.Exit(2)
	}
	os.Exit(run(os.Args[1], os.Args[2:]))
}

func run(mode string, args []string) int {
	switch mode {
	case "init":
		return runtime.InitMain(args)
	case "env":
		for _, e := range os.Environ() {
			fmt.Println(e)
		}
	case "id":
		wd, _ := os.Getwd()
		groups, _ := os.Getgroups()
		fmt.Printf("uid=%d gid=%d cwd=%s groups=%v\n", os.Getuid(), os.Getgid(), wd, groups)
	case "exit":
		n, _ := strconv.Atoi(args[0])
		fmt.Println("exiting", n)
		fmt.Fprintln(os.Stderr, "to stderr")
		return n
	case "sleep":
		d, _ := time.ParseDuration(args[0])
		fmt.Println("sleeping")
		time.Sleep(d)
	case "graceful":
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM)
		fmt.Println("ready")
		<-sigs
		fmt.Println("bye")
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		time.Sleep(time.Hour)
	case "oom":
		return oom()
	case "caps":
		return grepStatus("CapEff:")
	case "pids":
		return countPids()
	case "write":
		return write(args[0])
	case "listen":
		return listen(args[0])
	case "dial":
		return dial(args[0])
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		return 2
	}
	return 0
}

func oom() int {
	var keep [][]byte
	for {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = byte(i)
		}
		keep = append(keep, b)
	}
}

func grepStatus(prefix string) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, prefix) {
			fmt.Println(strings.TrimSpace(strings.TrimPrefix(line, prefix)))
		}
	}
	return 0
}

func countPids() int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			n++
		}
	}
	fmt.Println("pids", n)
	return 0
}

func write(path string) int {
	err := os.WriteFile(path, []byte("x"), 0o644)
	fmt.Println("write", path, err)
	if err != nil {
		return 1
	}
	return 0
}

func listen(addr string) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("listening")
	for {
		c, err := ln.Accept()
		if err != nil {
			return 1
		}
		fmt.Fprintln(c, "hello from listener")
		c.Close()
	}
}

func dial(addr string) int {
	for range 100 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		fmt.Print(string(buf[:n]))
		return 0
	}
	fmt.Println("dial failed")
	return 1
}
