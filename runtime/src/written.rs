//! Written answers (场外应答): a back-office or 场控 seat answers an
//! audience question in writing. A WeChat follower gets it through the
//! official account's customer-service messages (their OpenID read from
//! the back office's raw store; within 48 hours of their message); for the
//! other channels the answer is kept for the show's summary and the 办事攻略.
//! Either way it is journaled and the question marked answered.

use std::sync::Arc;

use airbridge_feeds::wechat_cs::{CustomerService, WINDOW};
use airbridge_show::{ItemRef, ShowEvent};

use crate::{Outcome, Refusal, Runtime};

impl Runtime {
    /// Sets the WeChat customer-service sender (the feeds start it).
    pub(crate) fn set_customer_service(&self, cs: Arc<CustomerService>) {
        *self
            .inner
            .customer_service
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(cs);
    }

    pub(crate) fn answer_in_writing(
        &self,
        seat: &str,
        item: ItemRef,
        text: String,
    ) -> Result<Outcome, Refusal> {
        let text = text.trim().to_owned();
        if text.is_empty() {
            return Err(Refusal("答复为空".into()));
        }
        let ItemRef::Message(id) = &item else {
            return Err(Refusal("书面答复针对一条观众留言（SOURCE:ID）".into()));
        };
        let (source, raw_id) = id.split_once(':').unwrap_or(("", id));
        let cs = self
            .inner
            .customer_service
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let sent_via = match (source, cs) {
            ("wechat", Some(cs)) => {
                let store =
                    airbridge_feeds::store::RawStore::open(&self.inner.paths.raw_messages())
                        .map_err(|e| Refusal(format!("留言原文库打不开：{e}")))?;
                let raw = store
                    .get("wechat", raw_id)
                    .map_err(|e| Refusal(format!("留言原文库：{e}")))?
                    .ok_or_else(|| Refusal(format!("{id}：原文库中没有这条留言")))?;
                let openid = raw.message.author_id.clone();
                if openid.is_empty() {
                    return Err(Refusal(format!("{id}：没有粉丝的 OpenID，无法回复")));
                }
                let sent_ms = if raw.message.ts_ms > 0 {
                    raw.message.ts_ms
                } else {
                    raw.received_ms
                };
                let age = chrono::Utc::now().timestamp_millis() - sent_ms;
                if age > WINDOW.as_millis() as i64 {
                    return Err(Refusal(format!(
                        "{id}：留言已超过 48 小时，公众号不能再发客服消息（可电话回访）"
                    )));
                }
                cs.send_text_blocking(&openid, &text)
                    .map_err(|e| Refusal(format!("公众号客服消息发送失败（答复未送达）：{e}")))?;
                Some("wechat".to_owned())
            }
            _ => None,
        };
        self.inner
            .journal
            .append(
                seat,
                ShowEvent::AnsweredInWriting {
                    item,
                    text,
                    sent_via,
                },
            )
            .map(|_| Outcome::Done)
            .map_err(|e| Refusal(format!("日志写入失败：{e}")))
    }
}
