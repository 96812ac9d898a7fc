//! The 场控's decisions, in the runtime: approve or reject a held message,
//! approve everything an author has waiting, block and unblock an author on
//! every channel (an audience author's key or a caller's key). Blocks are
//! journaled, kept in `<data>/moderation/blocked.json` across runs, and
//! handed to the feeds pipeline, which journals a blocked author's new
//! messages as blocked; a blocked caller rings as such.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use airbridge_feeds::moderation::{Mode, Moderation};
use airbridge_show::{ItemRef, ShowEvent};

use crate::{Refusal, Runtime};

/// The moderation of a show: modes from `[moderation]`, the block list
/// from disk.
pub(crate) fn load(
    modes: &BTreeMap<String, String>,
    key: [u8; 32],
    blocklist: &Path,
) -> (Arc<Moderation>, BTreeMap<String, String>, Option<String>) {
    let modes: HashMap<String, Mode> = modes
        .iter()
        .filter_map(|(k, v)| Mode::parse(v).map(|m| (k.clone(), m)))
        .collect();
    let m = Moderation::new(modes, key);
    let (list, problem) = match std::fs::read_to_string(blocklist) {
        Ok(text) => match serde_json::from_str::<BTreeMap<String, String>>(&text) {
            Ok(list) => (list, None),
            Err(e) => (
                BTreeMap::new(),
                Some(format!(
                    "{}: {e} (the block list starts empty)",
                    blocklist.display()
                )),
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (BTreeMap::new(), None),
        Err(e) => (
            BTreeMap::new(),
            Some(format!(
                "{}: {e} (the block list starts empty)",
                blocklist.display()
            )),
        ),
    };
    for k in list.keys() {
        m.block(k);
    }
    (Arc::new(m), list, problem)
}

impl Runtime {
    /// The show's moderation (modes and block list), shared with the feeds.
    pub fn moderation(&self) -> Arc<Moderation> {
        Arc::clone(&self.inner.moderation)
    }

    /// The block list: key → label (masked), as kept on disk.
    pub fn blocklist(&self) -> BTreeMap<String, String> {
        self.inner
            .blocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn save_blocklist(&self, list: &BTreeMap<String, String>) -> Result<(), Refusal> {
        let path = self.inner.paths.blocklist();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Refusal(format!("拉黑名单无法保存：{}: {e}", dir.display())))?;
        }
        let text = serde_json::to_string_pretty(list).unwrap_or_default();
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| Refusal(format!("拉黑名单无法保存：{}: {e}", path.display())))
    }

    pub(crate) fn approve(
        &self,
        seat: &str,
        item: &ItemRef,
        whole_author: bool,
    ) -> Result<crate::Outcome, Refusal> {
        let ItemRef::Message(id) = item else {
            return Err(Refusal("只有观众留言需要审核".into()));
        };
        let board = self.board();
        let Some(first) = board.audience.held.iter().find(|h| &h.id == id) else {
            return Err(Refusal(format!("{id} 不在待审列表中（已处理？）")));
        };
        let chosen: Vec<_> = if whole_author && !first.author_key.is_empty() {
            board
                .audience
                .held
                .iter()
                .filter(|h| h.author_key == first.author_key)
                .collect()
        } else {
            vec![first]
        };
        let events: Vec<ShowEvent> = chosen
            .into_iter()
            .map(|h| ShowEvent::Approved {
                source: h.source.clone(),
                id: h.id.clone(),
                kind: h.kind,
                author: h.author.clone(),
                text: h.text.clone(),
                cluster: h.cluster,
            })
            .collect();
        self.inner
            .journal
            .append_all(seat, events)
            .map(|_| crate::Outcome::Done)
            .map_err(|e| Refusal(format!("日志写入失败：{e}")))
    }

    pub(crate) fn reject(&self, seat: &str, item: &ItemRef) -> Result<crate::Outcome, Refusal> {
        let ItemRef::Message(id) = item else {
            return Err(Refusal("只有观众留言需要审核".into()));
        };
        if !self.board().audience.held.iter().any(|h| &h.id == id) {
            return Err(Refusal(format!("{id} 不在待审列表中（已处理？）")));
        }
        self.inner
            .journal
            .append(seat, ShowEvent::Rejected { id: id.clone() })
            .map(|_| crate::Outcome::Done)
            .map_err(|e| Refusal(format!("日志写入失败：{e}")))
    }

    /// The key and label of an item's author (a message's author, a call's caller).
    fn author_of(&self, item: &ItemRef) -> Result<(String, String), Refusal> {
        let board = self.board();
        let found = match item {
            ItemRef::Message(id) => board
                .audience
                .held
                .iter()
                .find(|h| &h.id == id)
                .map(|h| (h.author_key.clone(), format!("{} · {}", h.source, h.author)))
                .or_else(|| {
                    board
                        .audience
                        .recent_questions
                        .iter()
                        .find(|m| &m.id == id)
                        .map(|m| (m.author_key.clone(), format!("{} · {}", m.source, m.author)))
                }),
            ItemRef::Call(seq) => board.call_callers.get(seq).map(|k| {
                let shown = board
                    .lines
                    .values()
                    .find(|l| l.call_seq == *seq)
                    .map(|l| l.caller_masked.clone())
                    .unwrap_or_else(|| format!("#{seq}"));
                (k.clone(), format!("来电 · {shown}"))
            }),
            ItemRef::Cluster(_) => {
                return Err(Refusal("问题组不是一个人：请拉黑其中的某条留言".into()));
            }
        };
        match found {
            Some((key, label)) if !key.is_empty() && !key.starts_with("anon-") => Ok((key, label)),
            Some(_) => Err(Refusal("该来源没有用户标识，无法拉黑".into())),
            None => Err(Refusal("找不到这条内容（太早，已不在列表中）".into())),
        }
    }

    pub(crate) fn block(&self, seat: &str, item: &ItemRef) -> Result<crate::Outcome, Refusal> {
        let (key, label) = self.author_of(item)?;
        let mut list = self
            .inner
            .blocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        list.insert(key.clone(), label.clone());
        self.save_blocklist(&list)?;
        self.inner.moderation.block(&key);
        drop(list);
        self.inner
            .journal
            .append(
                seat,
                ShowEvent::Blocked {
                    author_key: key,
                    label,
                },
            )
            .map(|_| crate::Outcome::Done)
            .map_err(|e| Refusal(format!("日志写入失败：{e}")))
    }

    pub(crate) fn unblock(&self, seat: &str, key: &str) -> Result<crate::Outcome, Refusal> {
        let mut list = self
            .inner
            .blocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if list.remove(key).is_none() {
            return Err(Refusal(format!("{key} 不在拉黑名单中")));
        }
        self.save_blocklist(&list)?;
        self.inner.moderation.unblock(key);
        drop(list);
        self.inner
            .journal
            .append(
                seat,
                ShowEvent::Unblocked {
                    author_key: key.to_owned(),
                },
            )
            .map(|_| crate::Outcome::Done)
            .map_err(|e| Refusal(format!("日志写入失败：{e}")))
    }

    /// Whether a caller (by key) is blocked.
    pub fn caller_blocked(&self, key: &str) -> bool {
        self.inner.moderation.is_blocked(key)
    }
}
