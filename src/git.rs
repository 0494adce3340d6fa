//! Git through git2: open the repository, resolve the base, export a commit's tree for
//! planning, build a commit from a tree plus edited blobs, read a branch's history, and
//! fetch/push one branch with a lease. Nothing here reads or writes the working tree, the
//! index or `HEAD`.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use git2::{
    Commit, Cred, CredentialType, Direction, ErrorCode, FetchOptions, Index, IndexEntry, IndexTime,
    ObjectType, Oid, PushOptions, RemoteCallbacks, Repository, Signature, StatusOptions, Tree,
    TreeWalkMode, TreeWalkResult,
};

/// The trailer that marks a commit as patcher's own; a branch commit without it is a person's.
pub const TRAILER: &str = "Patcher-Recipes";

/// An error for the user, already worded (and redacted where it could hold a secret).
pub type GitResult<T> = Result<T, String>;

/// The repository patcher runs in, and where `--root` sits inside it.
pub struct Repo {
    pub repo: Repository,
    /// `--root` relative to the top of the work tree (`/`-separated, empty at the top).
    pub prefix: String,
}

/// Opens the repository that contains `root` (or that `root` is, for a bare one).
pub fn open(root: &Path) -> GitResult<Repo> {
    let repo = Repository::discover(root).map_err(|e| {
        format!(
            "{} is not in a git repository: {}",
            root.display(),
            e.message()
        )
    })?;
    let prefix = match repo.workdir() {
        None => String::new(),
        Some(top) => {
            let top = top
                .canonicalize()
                .map_err(|e| format!("{}: {e}", top.display()))?;
            let here = root
                .canonicalize()
                .map_err(|e| format!("cannot open root {}: {e}", root.display()))?;
            let rel = here.strip_prefix(&top).map_err(|_| {
                format!(
                    "{} is not inside the work tree {}",
                    here.display(),
                    top.display()
                )
            })?;
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/")
        }
    };
    Ok(Repo { repo, prefix })
}

/// Resolves the base commit: `--base REV`, else `HEAD` (refused in a bare repository and on
/// an unborn `HEAD`).
pub fn resolve_base<'r>(repo: &'r Repository, base: Option<&str>) -> GitResult<Commit<'r>> {
    match base {
        Some(rev) => repo
            .revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| format!("--base {rev} does not resolve to a commit: {}", e.message())),
        None => {
            if repo.is_bare() {
                return Err(
                    "this is a bare repository: there is no checked-out HEAD to build on; pass --base REV"
                        .into(),
                );
            }
            match repo.head() {
                Ok(head) => head.peel_to_commit().map_err(|e| {
                    format!("HEAD does not point to a commit: {}", e.message())
                }),
                Err(e) if e.code() == ErrorCode::UnbornBranch => Err(
                    "HEAD is unborn (the current branch has no commits yet): commit something first or pass --base REV"
                        .into(),
                ),
                Err(e) => Err(format!("cannot read HEAD: {}", e.message())),
            }
        }
    }
}

/// The branch name a pull request for `base` should target, when the base names one: a local
/// branch (`main`), a remote-tracking branch (`origin/main` → `main`), or the branch `HEAD` is
/// on (its upstream's name when it has one).
pub fn base_branch_name(repo: &Repository, base: Option<&str>) -> Option<String> {
    let upstream_name = |local: &str| -> String {
        repo.config()
            .ok()
            .and_then(|c| c.get_string(&format!("branch.{local}.merge")).ok())
            .and_then(|m| m.strip_prefix("refs/heads/").map(str::to_string))
            .unwrap_or_else(|| local.to_string())
    };
    match base {
        None => {
            let head = repo.head().ok()?;
            if !head.is_branch() {
                return None;
            }
            head.shorthand().ok().map(upstream_name)
        }
        Some(rev) => {
            let rev = rev.strip_prefix("refs/heads/").unwrap_or(rev);
            if repo.find_reference(&format!("refs/heads/{rev}")).is_ok() {
                return Some(upstream_name(rev));
            }
            let rev = rev.strip_prefix("refs/remotes/").unwrap_or(rev);
            if repo.find_reference(&format!("refs/remotes/{rev}")).is_ok() {
                return rev.split_once('/').map(|(_, b)| b.to_string());
            }
            None
        }
    }
}

/// Whether `name` is a valid branch name.
pub fn valid_branch_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name != "HEAD"
        && git2::Reference::is_valid_name(&format!("refs/heads/{name}"))
}

/// The path of a work tree (the main one or a linked one) that has `refs/heads/<branch>`
/// checked out, if any.
pub fn checked_out_in(repo: &Repository, branch: &str) -> Option<PathBuf> {
    let refname = format!("refs/heads/{branch}");
    let head_is = |r: &Repository| {
        r.find_reference("HEAD")
            .ok()
            .and_then(|h| h.symbolic_target().ok().flatten().map(|t| t == refname))
            .unwrap_or(false)
    };
    // A bare repository's HEAD is not a checkout.
    if !repo.is_bare() && head_is(repo) {
        return Some(repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf());
    }
    let names = repo.worktrees().ok()?;
    for name in names.iter().filter_map(|n| n.ok().flatten()) {
        if let Ok(wt) = repo.find_worktree(name)
            && let Ok(r) = Repository::open_from_worktree(&wt)
            && head_is(&r)
        {
            return Some(wt.path().to_path_buf());
        }
    }
    None
}

/// Paths with uncommitted changes (untracked files included, ignored ones not), as
/// `git status --porcelain` would list them. Reads only: the index is not refreshed.
pub fn dirty_paths(repo: &Repository) -> Vec<String> {
    if repo.is_bare() {
        return Vec::new();
    }
    let mut opts = StatusOptions::new();
    opts.include_untracked(true)
        .include_ignored(false)
        .recurse_untracked_dirs(false)
        .exclude_submodules(true);
    match repo.statuses(Some(&mut opts)) {
        Ok(st) => st
            .iter()
            .filter_map(|e| e.path().ok().map(str::to_string))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// A temporary directory holding a tree's files; removed on drop.
pub struct Export {
    dir: tempfile::TempDir,
}

impl Export {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Writes the files of `tree` under `prefix` into a new temporary directory, so the planner
/// can read them like a checkout: regular files with their executable bit, symlinks as
/// symlinks, submodules as empty directories. Entry names that could leave the directory
/// (`..`, `.git`, anything with a separator) are skipped.
pub fn export_tree(repo: &Repository, tree: &Tree<'_>, prefix: &str) -> GitResult<Export> {
    let dir = tempfile::Builder::new()
        .prefix("patcher-tree-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let sub;
    let tree = if prefix.is_empty() {
        tree
    } else {
        match tree.get_path(Path::new(prefix)) {
            Ok(entry) if entry.kind() == Some(ObjectType::Tree) => {
                sub = repo
                    .find_tree(entry.id())
                    .map_err(|e| format!("cannot read tree {prefix}: {}", e.message()))?;
                &sub
            }
            _ => return Ok(Export { dir }),
        }
    };
    let root = dir.path().to_path_buf();
    let mut failure: Option<String> = None;
    tree.walk(TreeWalkMode::PreOrder, |parent, entry| {
        let name = entry.name_bytes();
        if name.is_empty()
            || name == b"."
            || name == b".."
            || name.contains(&b'/')
            || name.contains(&b'\\')
            || name.eq_ignore_ascii_case(b".git")
        {
            return TreeWalkResult::Skip;
        }
        let Ok(name) = entry.name() else {
            return TreeWalkResult::Skip;
        };
        let path = root.join(parent).join(name);
        let result = match entry.kind() {
            Some(ObjectType::Tree) => std::fs::create_dir_all(&path).map_err(|e| e.to_string()),
            Some(ObjectType::Blob) => write_blob(repo, entry.id(), entry.filemode(), &path),
            Some(ObjectType::Commit) => std::fs::create_dir_all(&path).map_err(|e| e.to_string()),
            _ => Ok(()),
        };
        match result {
            Ok(()) => TreeWalkResult::Ok,
            Err(e) => {
                failure = Some(format!("cannot export {parent}{name}: {e}"));
                TreeWalkResult::Abort
            }
        }
    })
    .or_else(|e| {
        if failure.is_some() {
            Ok(())
        } else {
            Err(format!("cannot walk the base tree: {}", e.message()))
        }
    })?;
    match failure {
        Some(f) => Err(f),
        None => Ok(Export { dir }),
    }
}

fn write_blob(repo: &Repository, id: Oid, mode: i32, path: &Path) -> Result<(), String> {
    let blob = repo.find_blob(id).map_err(|e| e.message().to_string())?;
    if mode == 0o120000 {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let target = std::ffi::OsStr::from_bytes(blob.content());
            return std::os::unix::fs::symlink(target, path).map_err(|e| e.to_string());
        }
        #[cfg(not(unix))]
        {
            return std::fs::write(path, blob.content()).map_err(|e| e.to_string());
        }
    }
    std::fs::write(path, blob.content()).map_err(|e| e.to_string())?;
    #[cfg(unix)]
    if mode == 0o100755 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// One new file content for [`build_tree`]: a path relative to `--root` and its bytes.
pub struct Edit<'a> {
    pub path: &'a str,
    pub content: &'a [u8],
}

/// Writes a tree that is `base` with the edited files replaced (or added), keeping every other
/// entry (and each edited file's mode) as it was. Refuses to write through a symlink.
pub fn build_tree(
    repo: &Repository,
    base: &Tree<'_>,
    prefix: &str,
    edits: &[Edit<'_>],
) -> GitResult<Oid> {
    let mut index = Index::new().map_err(|e| format!("cannot create an index: {}", e.message()))?;
    index
        .read_tree(base)
        .map_err(|e| format!("cannot read the base tree: {}", e.message()))?;
    for edit in edits {
        let full = if prefix.is_empty() {
            edit.path.to_string()
        } else {
            format!("{prefix}/{}", edit.path)
        };
        let mode = match base.get_path(Path::new(&full)) {
            Ok(entry) if entry.filemode() == 0o120000 => {
                return Err(format!(
                    "{full} is a symlink in the base commit; patcher does not edit through symlinks in a commit (edit its target instead)"
                ));
            }
            Ok(entry) => entry.filemode() as u32,
            Err(_) => 0o100644,
        };
        let id = repo
            .blob(edit.content)
            .map_err(|e| format!("cannot write {full}: {}", e.message()))?;
        let entry = IndexEntry {
            ctime: IndexTime::new(0, 0),
            mtime: IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode,
            uid: 0,
            gid: 0,
            file_size: u32::try_from(edit.content.len()).unwrap_or(u32::MAX),
            id,
            flags: 0,
            flags_extended: 0,
            path: full.clone().into_bytes(),
        };
        index
            .add(&entry)
            .map_err(|e| format!("cannot add {full}: {}", e.message()))?;
    }
    index
        .write_tree_to(repo)
        .map_err(|e| format!("cannot write the new tree: {}", e.message()))
}

/// The commit identity: `--author "Name <email>"`, else `user.name`/`user.email` from git config.
pub fn identity(repo: &Repository, author: Option<&str>) -> GitResult<Signature<'static>> {
    if let Some(a) = author {
        let (name, email) = parse_author(a)?;
        return Signature::now(name, email).map_err(|e| format!("--author {a:?}: {}", e.message()));
    }
    repo.signature().map_err(|_| {
        "no commit identity: set user.name and user.email (`git config user.name \"Your Name\"`, `git config user.email you@example.com`) or pass --author \"Name <email>\"".to_string()
    })
}

/// Splits `Name <email>`.
pub fn parse_author(a: &str) -> GitResult<(&str, &str)> {
    let bad = || format!("--author {a:?}: expected \"Name <email>\"");
    let (name, rest) = a.split_once('<').ok_or_else(bad)?;
    let email = rest.strip_suffix('>').ok_or_else(bad)?;
    let name = name.trim();
    if name.is_empty() || email.is_empty() || email.contains(['<', '>']) {
        return Err(bad());
    }
    Ok((name, email.trim()))
}

/// A commit on a branch, for deciding whether patcher may rewrite it.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    pub id: Oid,
    pub summary: String,
    pub author: String,
    /// The message carries patcher's trailer.
    pub patchers: bool,
}

impl CommitInfo {
    /// `abc1234 "Subject" by Name <email>`
    pub fn describe(&self) -> String {
        format!("{} \"{}\" by {}", short(self.id), self.summary, self.author)
    }
}

pub fn short(id: Oid) -> String {
    let s = id.to_string();
    s[..s.len().min(10)].to_string()
}

/// Whether a commit message carries patcher's trailer.
pub fn has_trailer(message: &str) -> bool {
    git2::message_trailers_strs(message)
        .map(|t| t.iter().any(|(k, _)| k.eq_ignore_ascii_case(TRAILER)))
        .unwrap_or(false)
}

/// The commits reachable from `tip` but not from `hide`, oldest first.
pub fn commits_between(repo: &Repository, tip: Oid, hide: Oid) -> GitResult<Vec<CommitInfo>> {
    let mut walk = repo
        .revwalk()
        .map_err(|e| format!("cannot walk history: {}", e.message()))?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
        .map_err(|e| e.message().to_string())?;
    walk.push(tip).map_err(|e| e.message().to_string())?;
    walk.hide(hide).map_err(|e| e.message().to_string())?;
    let mut out = Vec::new();
    for id in walk {
        let id = id.map_err(|e| e.message().to_string())?;
        let c = repo
            .find_commit(id)
            .map_err(|e| format!("cannot read commit {id}: {}", e.message()))?;
        let author = c.author();
        out.push(CommitInfo {
            id,
            summary: c.summary().ok().flatten().unwrap_or("").to_string(),
            author: format!(
                "{} <{}>",
                author.name().unwrap_or("?"),
                author.email().unwrap_or("?")
            ),
            patchers: has_trailer(c.message().unwrap_or("")),
        });
    }
    Ok(out)
}

/// Whether `a` is `b` or an ancestor of it.
pub fn is_ancestor(repo: &Repository, a: Oid, b: Oid) -> bool {
    a == b || repo.graph_descendant_of(b, a).unwrap_or(false)
}

/// The `git diff --stat` of two trees.
pub fn diff_stat(repo: &Repository, old: &Tree<'_>, new: &Tree<'_>) -> String {
    let diff = match repo.diff_tree_to_tree(Some(old), Some(new), None) {
        Ok(d) => d,
        Err(_) => return String::new(),
    };
    diff.stats()
        .and_then(|s| s.to_buf(git2::DiffStatsFormat::FULL, 80))
        .ok()
        .and_then(|b| b.as_str().ok().map(str::to_string))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Remotes: credentials, listing, fetching and pushing one branch.

/// Replaces every secret patcher knows about (the tokens in `GITHUB_TOKEN` / `GH_TOKEN`,
/// passwords in URLs) with `***`.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    for var in ["GITHUB_TOKEN", "GH_TOKEN"] {
        if let Ok(tok) = std::env::var(var) {
            let tok = tok.trim();
            if tok.len() >= 4 {
                out = out.replace(tok, "***");
            }
        }
    }
    // scheme://user:secret@host → scheme://user:***@host
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        result.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/' || c == '\'' || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.split_once(':') {
                    Some((user, _)) => result.push_str(&format!("{user}:***")),
                    // A bare userinfo that looks like a token (GitHub accepts one there).
                    None if userinfo.starts_with("gh")
                        || userinfo.starts_with("github_pat_")
                        || userinfo.len() >= 30 =>
                    {
                        result.push_str("***")
                    }
                    None => result.push_str(userinfo),
                }
                result.push_str(&authority[at..]);
            }
            None => result.push_str(authority),
        }
        rest = &tail[end..];
    }
    result.push_str(rest);
    result
}

/// The token from `GITHUB_TOKEN`, else `GH_TOKEN`.
pub fn env_token() -> Option<String> {
    ["GITHUB_TOKEN", "GH_TOKEN"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|t| t.trim().to_string())
        .find(|t| !t.is_empty())
}

/// Hosts the environment's token may be sent to: github.com, and the hosts of
/// `GITHUB_SERVER_URL` / `GITHUB_API_URL` (GitHub Enterprise).
fn token_hosts() -> Vec<String> {
    let mut hosts = vec!["github.com".to_string()];
    for var in ["GITHUB_SERVER_URL", "GITHUB_API_URL"] {
        if let Ok(u) = std::env::var(var)
            && let Some(h) = url_host(&u)
        {
            hosts.push(h.strip_prefix("api.").unwrap_or(&h).to_string());
            hosts.push(h);
        }
    }
    hosts
}

/// The host of `scheme://[user@]host[:port]/...`.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let host = authority.rsplit('@').next()?;
    let host = host.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[derive(Default)]
struct CredState {
    tried_agent: bool,
    tried_token: bool,
    tried_helper: bool,
    tried_default: bool,
    calls: u32,
}

/// Callbacks that answer credential requests: the ssh-agent for ssh, `GITHUB_TOKEN`/`GH_TOKEN`
/// for https to a GitHub host, then git's credential helpers. Each is tried once, so a wrong
/// credential ends in an error rather than a loop. The token lives only in memory.
fn callbacks<'a>(config: &'a git2::Config, state: &'a RefCell<CredState>) -> RemoteCallbacks<'a> {
    let mut cb = RemoteCallbacks::new();
    let token = env_token();
    let hosts = token_hosts();
    cb.credentials(move |url, user_from_url, allowed| {
        let mut st = state.borrow_mut();
        st.calls += 1;
        if st.calls > 6 {
            return Err(git2::Error::from_str(
                "authentication failed: every available credential was rejected",
            ));
        }
        if allowed.contains(CredentialType::SSH_KEY) && !st.tried_agent {
            st.tried_agent = true;
            return Cred::ssh_key_from_agent(user_from_url.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            let https = url.starts_with("https://");
            let host_ok = url_host(url).is_some_and(|h| hosts.contains(&h));
            if let Some(tok) = &token
                && https
                && host_ok
                && !st.tried_token
            {
                st.tried_token = true;
                return Cred::userpass_plaintext(user_from_url.unwrap_or("x-access-token"), tok);
            }
            if !st.tried_helper {
                st.tried_helper = true;
                if let Ok(c) = Cred::credential_helper(config, url, user_from_url) {
                    return Ok(c);
                }
            }
        }
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(user_from_url.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::DEFAULT) && !st.tried_default {
            st.tried_default = true;
            return Cred::default();
        }
        Err(git2::Error::from_str(
            "no usable credentials (tried: ssh-agent, GITHUB_TOKEN/GH_TOKEN for GitHub hosts, git credential helpers)",
        ))
    });
    cb
}

fn open_remote<'r>(repo: &'r Repository, remote: &str) -> GitResult<git2::Remote<'r>> {
    match repo.find_remote(remote) {
        Ok(r) => Ok(r),
        Err(_) if remote.contains("://") || remote.contains('/') || remote.contains(':') => repo
            .remote_anonymous(remote)
            .map_err(|e| redact(&format!("remote {remote}: {}", e.message()))),
        Err(_) if Path::new(remote).is_file() => Err(format!(
            "--push took {remote:?} as the remote name; to apply a saved plan, put it before --push (`patcher apply {remote} --push`)"
        )),
        Err(e) => Err(format!(
            "no remote named {remote:?} ({}); add it with `git remote add {remote} URL` or pass a URL to --push",
            e.message()
        )),
    }
}

/// The URL patcher pushes to for `remote` (its push URL when it has one).
pub fn remote_url(repo: &Repository, remote: &str) -> Option<String> {
    let r = open_remote(repo, remote).ok()?;
    match r.pushurl() {
        Ok(Some(u)) => Some(u.to_string()),
        _ => r.url().ok().map(str::to_string),
    }
}

/// Where `refs/heads/<branch>` points on the remote right now (`None`: no such branch).
pub fn remote_tip(repo: &Repository, remote: &str, branch: &str) -> GitResult<Option<Oid>> {
    let mut r = open_remote(repo, remote)?;
    let config = repo.config().map_err(|e| e.message().to_string())?;
    let state = RefCell::new(CredState::default());
    let conn = r
        .connect_auth(Direction::Fetch, Some(callbacks(&config, &state)), None)
        .map_err(|e| redact(&format!("cannot reach remote {remote}: {}", e.message())))?;
    let want = format!("refs/heads/{branch}");
    let heads = conn
        .list()
        .map_err(|e| redact(&format!("cannot list remote {remote}: {}", e.message())))?;
    Ok(heads.iter().find(|h| h.name() == want).map(|h| h.oid()))
}

/// The remote's default branch (what its `HEAD` names), e.g. `main`.
pub fn remote_default_branch(repo: &Repository, remote: &str) -> GitResult<String> {
    let mut r = open_remote(repo, remote)?;
    let config = repo.config().map_err(|e| e.message().to_string())?;
    let state = RefCell::new(CredState::default());
    let conn = r
        .connect_auth(Direction::Fetch, Some(callbacks(&config, &state)), None)
        .map_err(|e| redact(&format!("cannot reach remote {remote}: {}", e.message())))?;
    let head = conn.default_branch().map_err(|e| {
        redact(&format!(
            "remote {remote} names no default branch (is it empty?): {}; set base=\"BRANCH\"",
            e.message()
        ))
    })?;
    head.as_str()
        .ok()
        .and_then(|h| h.strip_prefix("refs/heads/"))
        .map(str::to_string)
        .ok_or_else(|| format!("remote {remote}'s HEAD is not a branch; set base=\"BRANCH\""))
}

/// Fetches `refs/heads/<branch>` from the remote (into its remote-tracking ref when the remote
/// is a named one), so its commits can be inspected.
pub fn fetch_branch(repo: &Repository, remote: &str, branch: &str) -> GitResult<()> {
    let mut r = open_remote(repo, remote)?;
    let spec = if matches!(r.name(), Ok(Some(_))) {
        format!("+refs/heads/{branch}:refs/remotes/{remote}/{branch}")
    } else {
        format!("refs/heads/{branch}")
    };
    let config = repo.config().map_err(|e| e.message().to_string())?;
    let state = RefCell::new(CredState::default());
    let mut opts = FetchOptions::new();
    opts.remote_callbacks(callbacks(&config, &state));
    r.fetch(&[spec.as_str()], Some(&mut opts), None)
        .map_err(|e| {
            redact(&format!(
                "cannot fetch {branch} from {remote}: {}",
                e.message()
            ))
        })
}

/// Why a push did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushError {
    /// The remote branch is not where the caller last saw it: someone else pushed.
    LeaseRejected {
        expected: Option<Oid>,
        found: Option<Oid>,
    },
    /// The remote refused the update (hook, protected branch, ...).
    Rejected(String),
    Other(String),
}

impl std::fmt::Display for PushError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |o: &Option<Oid>| o.map_or("no branch".to_string(), short);
        match self {
            PushError::LeaseRejected { expected, found } => write!(
                f,
                "the remote branch moved while patcher worked (expected {}, found {}): someone else pushed to it; nothing was overwritten — run patcher again to build on their work",
                show(expected),
                show(found)
            ),
            PushError::Rejected(m) => write!(f, "the remote rejected the push: {m}"),
            PushError::Other(m) => write!(f, "{m}"),
        }
    }
}

/// Pushes `new` to `refs/heads/<branch>` on the remote only if the remote branch is still at
/// `expected` (`None`: must not exist): a lease checked against the remote's own
/// advertisement on the push connection, so a concurrent push is never overwritten.
/// `force` allows a non-fast-forward update (a rebuilt patcher branch) — still under the lease.
pub fn push_with_lease(
    repo: &Repository,
    remote: &str,
    branch: &str,
    new: Oid,
    expected: Option<Oid>,
    force: bool,
) -> Result<(), PushError> {
    let mut r = open_remote(repo, remote).map_err(PushError::Other)?;
    // libgit2 pushes references, not ids: stage the commit under a private ref, pushed and
    // then removed (patcher's own scratch ref, never a branch).
    let scratch = format!("refs/patcher/push/{branch}");
    repo.reference(&scratch, new, true, "patcher: push")
        .map_err(|e| PushError::Other(format!("cannot stage the push: {}", e.message())))?;
    let config = repo
        .config()
        .map_err(|e| PushError::Other(e.message().to_string()))?;
    let state = RefCell::new(CredState::default());
    let lease_failure: RefCell<Option<PushError>> = RefCell::new(None);
    let rejected: RefCell<Option<String>> = RefCell::new(None);
    let want = format!("refs/heads/{branch}");
    let result = {
        let mut cb = callbacks(&config, &state);
        cb.push_negotiation(|updates| {
            for u in updates {
                if u.dst_refname().ok() == Some(want.as_str()) {
                    let found = (!u.src().is_zero()).then(|| u.src());
                    if found != expected {
                        *lease_failure.borrow_mut() =
                            Some(PushError::LeaseRejected { expected, found });
                        return Err(git2::Error::from_str("lease rejected"));
                    }
                }
            }
            Ok(())
        });
        cb.push_update_reference(|name, status| {
            if let Some(s) = status {
                *rejected.borrow_mut() = Some(format!("{name}: {s}"));
            }
            Ok(())
        });
        let mut opts = PushOptions::new();
        opts.remote_callbacks(cb);
        let spec = format!("{}{scratch}:{want}", if force { "+" } else { "" });
        r.push(&[spec.as_str()], Some(&mut opts))
    };
    if let Ok(mut s) = repo.find_reference(&scratch) {
        let _ = s.delete();
    }
    if let Some(e) = lease_failure.into_inner() {
        return Err(e);
    }
    if let Some(m) = rejected.into_inner() {
        return Err(PushError::Rejected(redact(&m)));
    }
    result.map_err(|e| {
        let msg = e.message().to_string();
        if e.code() == ErrorCode::NotFastForward || msg.contains("non-fastforward") {
            PushError::Rejected(format!(
                "{msg}: the remote branch has commits patcher has not seen (someone else pushed); nothing was overwritten"
            ))
        } else {
            PushError::Other(redact(&format!("push to {remote} failed: {msg}")))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn author_must_be_name_and_email() {
        assert_eq!(parse_author("A B <a@b.c>").ok(), Some(("A B", "a@b.c")));
        assert!(parse_author("A B").is_err());
        assert!(parse_author("<a@b.c>").is_err());
        assert!(parse_author("A <>").is_err());
    }

    #[test]
    fn branch_names_are_checked_as_refs() {
        assert!(valid_branch_name("patcher/probe-delays"));
        assert!(!valid_branch_name("bad..name"));
        assert!(!valid_branch_name("has space"));
        assert!(!valid_branch_name("-x"));
        assert!(!valid_branch_name("ends.lock"));
        assert!(!valid_branch_name(""));
    }

    #[test]
    fn urls_lose_their_passwords() {
        assert_eq!(
            redact("failed https://me:s3cret@github.com/o/r.git now"),
            "failed https://me:***@github.com/o/r.git now"
        );
        assert_eq!(redact("ssh://git@host/x"), "ssh://git@host/x");
        assert_eq!(
            redact("https://ghp_abcdef@github.com/o/r"),
            "https://***@github.com/o/r"
        );
        assert_eq!(
            url_host("https://x@GitHub.com:443/o/r").as_deref(),
            Some("github.com")
        );
    }

    #[test]
    fn trailer_marks_patcher_commits() {
        assert!(has_trailer("patcher: x\n\nbody\n\nPatcher-Recipes: a, b\n"));
        assert!(!has_trailer(
            "fix things\n\nPatcher-Recipes is mentioned here\n"
        ));
    }
}
