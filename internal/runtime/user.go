package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// resolveUser turns "uid", "uid:gid", "name" or "name:group" into ids, resolving names from the
// rootfs as Docker does, and returns the user's home directory too.
func resolveUser(root rootView, user string) (specs.User, string, error) {
	userPart, groupPart, hasGroup := strings.Cut(user, ":")
	passwd, groups, err := readUserDB(root)
	if err != nil {
		return specs.User{}, "", err
	}
	u := specs.User{}
	home := "/"
	var entry *passwdEntry
	switch id, err := strconv.ParseUint(userPart, 10, 32); {
	case userPart == "":
		entry = findPasswd(passwd, func(p passwdEntry) bool { return p.uid == 0 })
	case err == nil:
		u.UID = uint32(id)
		entry = findPasswd(passwd, func(p passwdEntry) bool { return p.uid == uint32(id) })
	default:
		entry = findPasswd(passwd, func(p passwdEntry) bool { return p.name == userPart })
		if entry == nil {
			return specs.User{}, "", fmt.Errorf("user %q: no such user in the image's /etc/passwd: %w", userPart, ErrInvalidSpec)
		}
	}
	if entry != nil {
		u.UID, u.GID, home = entry.uid, entry.gid, entry.home
	}
	if hasGroup {
		gid, err := resolveGroup(groups, groupPart)
		if err != nil {
			return specs.User{}, "", err
		}
		u.GID = gid
	} else if entry != nil {
		u.AdditionalGids = memberGroups(groups, entry.name, u.GID)
	}
	if home == "" {
		home = "/"
	}
	return u, home, nil
}

func resolveGroup(groups []groupEntry, g string) (uint32, error) {
	if id, err := strconv.ParseUint(g, 10, 32); err == nil {
		return uint32(id), nil
	}
	for _, e := range groups {
		if e.name == g {
			return e.gid, nil
		}
	}
	return 0, fmt.Errorf("group %q: no such group in the image's /etc/group: %w", g, ErrInvalidSpec)
}

func memberGroups(groups []groupEntry, name string, primary uint32) []uint32 {
	var out []uint32
	for _, g := range groups {
		for _, m := range g.members {
			if m == name && g.gid != primary {
				out = append(out, g.gid)
			}
		}
	}
	return out
}

func findPasswd(entries []passwdEntry, match func(passwdEntry) bool) *passwdEntry {
	for i := range entries {
		if match(entries[i]) {
			return &entries[i]
		}
	}
	return nil
}

func readUserDB(root rootView) ([]passwdEntry, []groupEntry, error) {
	var passwd []passwdEntry
	var groups []groupEntry
	err := readColonFile(root, "/etc/passwd", func(f []string) {
		if len(f) >= 7 {
			uid, err1 := strconv.ParseUint(f[2], 10, 32)
			gid, err2 := strconv.ParseUint(f[3], 10, 32)
			if err1 == nil && err2 == nil {
				passwd = append(passwd, passwdEntry{name: f[0], uid: uint32(uid), gid: uint32(gid), home: f[5]})
			}
		}
	})
	if err != nil {
		return nil, nil, err
	}
	err = readColonFile(root, "/etc/group", func(f []string) {
		if len(f) >= 4 {
			if gid, err := strconv.ParseUint(f[2], 10, 32); err == nil {
				members := strings.FieldsFunc(f[3], func(r rune) bool { return r == ',' })
				groups = append(groups, groupEntry{name: f[0], gid: uint32(gid), members: members})
			}
		}
	})
	return passwd, groups, err
}

// readColonFile calls fn for each line of an /etc/passwd-style file; a missing file is empty.
func readColonFile(root rootView, name string, fn func([]string)) error {
	data, err := readRootFile(root, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s from rootfs: %w", name, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fn(strings.Split(line, ":"))
	}
	return sc.Err()
}
