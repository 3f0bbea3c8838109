# Running the services without root: the system user they run as, folders
# that user can reach, and the release (the code it runs). Root is needed
# to install packages, not to serve. Sourced by lib.sh.
# shellcheck shell=bash

# service_user: prints who runs the services. As root, the system user
# SERVICE_USER (todo-stack), made on first use; anyone else runs them as
# themselves.
service_user() {
  if [ "$(id -u)" != 0 ]; then id -un; return; fi
  local name=${SERVICE_USER:-todo-stack}
  [ "$name" != root ] || die "SERVICE_USER=root: the services never run as root"
  if ! getent passwd "$name" >/dev/null; then
    log "creating the system user $name, which the services run as"
    # Two run commands at once may both try: the one that loses finds it made.
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$name" 2>/dev/null \
      || getent passwd "$name" >/dev/null || die "could not create the system user $name"
  fi
  echo "$name"
}

# as_service CMD...: runs CMD as the service user. Root touches the service's
# own folders only this way, so a link or file the service planted there
# gets it nothing it could not already do.
as_service() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$(service_user)" -- "$@"; else "$@"; fi
}

# service_write FILE: writes stdin to FILE as the service user, mode 600
# from the start.
service_write() {
  # shellcheck disable=SC2016 # $1 is the inner shell's.
  as_service sh -c 'umask 077 && cat >"$1"' sh "$1"
}

# private_dir RECORD TEMPLATE: a folder made by mktemp from TEMPLATE (root's,
# mode 711: others may pass through, not look in), named in the file RECORD
# so later runs find it again. Never a predictable path that someone else
# could have made first, or a link.
private_dir() {
  local record=$1 template=$2 dir
  dir=$(cat "$record" 2>/dev/null || true)
  if [ -z "$dir" ] || [ -L "$dir" ] || [ ! -d "$dir" ] || [ "$(stat -c %u:%a "$dir")" != "$(id -u):711" ]; then
    dir=$(mktemp -d "$template") || die "could not make a folder from $template"
    chmod 711 "$dir"
    echo "$dir" >"$record"
  fi
  echo "$dir"
}

# reachable_dir USER WANTED: prints where a folder for USER's files goes:
# WANTED when USER can get to its parent folder; a checkout in a private home
# (/root, mode 700, which we never open) is out of reach, so then a private
# folder under /var/tmp, named in WANTED.location beside where it would have
# been. Makes WANTED's parent, not the folder.
reachable_dir() {
  local user=$1 wanted=$2
  mkdir -p "$(dirname "$wanted")"
  if [ "$(id -u)" != 0 ] || runuser -u "$user" -- test -x "$(dirname "$wanted")" 2>/dev/null; then
    echo "$wanted"
  else
    echo "$(private_dir "$wanted.location" "/var/tmp/todo-stack-$(basename "$wanted").XXXXXXXX")/$(basename "$wanted")"
  fi
}

# service_dir DIR: makes DIR the service user's, mode 700. A folder left by
# an earlier run as another user (root's Redis, www-data's nginx cache) is
# handed over whole, closed to others; -R passes links by, never following
# them.
service_dir() {
  local dir=$1 user
  user=$(service_user)
  [ ! -L "$dir" ] || die "$dir is a link; refusing to use it"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ] && [ "$(stat -c %U "$dir")" != "$user" ]; then chmod -R go-rwx "$dir" && chown -R "$user:" "$dir"; fi
  as_service chmod 700 "$dir"
}

# make_release DIR: puts what the apps run (dist/, package.json,
# node_modules) in DIR, readable by the service user, as root's, so no
# service can change the code it or PM2 runs. It is made beside DIR and
# renamed into place: a worker starting meanwhile finds one release or the
# other, and the paths PM2 knows stay the same. The one it replaces is left
# as DIR.next.*.old until drop_old_releases.
# dist/ is copied (a build rewrites its files in place). node_modules, when
# npm installed the same packages as for the release it replaces, is moved
# over from it; else hard-linked (npm writes new files, so the links keep
# what the release was made with): 15,000 links take seconds to make and
# remove on a busy disk. It is copied if others cannot read some of it or
# it is on another file system.
make_release() {
  local dir=$1 next same=''
  next=$(mktemp -d "$dir.next.XXXXXXXX") || die "could not make a folder beside $dir"
  cp -a "$ROOT/dist" "$ROOT/package.json" "$next/"
  chmod -R a+rX "$next"
  if cmp -s "$ROOT/node_modules/.package-lock.json" "$dir/node_modules/.package-lock.json"; then same=1
  elif [ "$(id -u)" = 0 ] && [ -n "$(find "$ROOT/node_modules" \( -type d ! -perm -o=rx \) -o \( -type f ! -perm -o=r \) | head -n 1)" ] \
     || ! cp -al "$ROOT/node_modules" "$next/" 2>/dev/null; then
    rm -rf "$next/node_modules"
    cp -a "$ROOT/node_modules" "$next/" && chmod -R a+rX "$next/node_modules"
  fi
  if [ -e "$dir" ]; then mv -T "$dir" "$next.old"; fi
  if [ -n "$same" ]; then mv "$next.old/node_modules" "$next/"; fi
  mv -T "$next" "$dir"
}

drop_old_releases() { rm -rf "$1".next.*; }
