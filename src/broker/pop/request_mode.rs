//! `MessageRequestModeManager`: which groups pop which topics, set by
//! SET_MESSAGE_REQUEST_MODE (`mqadmin setConsumeMode`) and kept in
//! `config/messageRequestMode.json` (Java's file and layout).

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use crate::broker::persist::{read_if_exists, write_atomically};
use crate::common::sync::RwLockExt;
use crate::protocol::body::{MessageRequestModeSerializeWrapper, SetMessageRequestModeRequestBody};

/// Request modes by topic, then group; mirrors Java's `MessageRequestModeManager`.
pub(crate) struct MessageRequestModeManager {
    path: PathBuf,
    table: RwLock<MessageRequestModeSerializeWrapper>,
}

impl MessageRequestModeManager {
    /// Loads `config/messageRequestMode.json` under `store_dir` (empty when absent).
    pub(crate) fn load(store_dir: &Path) -> std::io::Result<Self> {
        let path = store_dir.join("config").join("messageRequestMode.json");
        let table = match read_if_exists(&path)? {
            Some(bytes) => MessageRequestModeSerializeWrapper::from_json(&bytes).map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{path:?}: {e}"))
            })?,
            None => MessageRequestModeSerializeWrapper::default(),
        };
        Ok(MessageRequestModeManager {
            path,
            table: RwLock::new(table),
        })
    }

    /// The mode set for a group on a topic, if one was.
    pub(crate) fn get(&self, topic: &str, group: &str) -> Option<SetMessageRequestModeRequestBody> {
        self.table
            .read_unpoisoned()
            .message_request_mode_map
            .get(topic)?
            .get(group)
            .cloned()
    }

    /// Records a mode and writes the file (`setMessageRequestMode` then `persist`).
    pub(crate) fn set(&self, body: SetMessageRequestModeRequestBody) -> std::io::Result<()> {
        let mut table = self.table.write_unpoisoned();
        table
            .message_request_mode_map
            .entry(body.topic.clone())
            .or_default()
            .insert(body.consumer_group.clone(), body);
        write_atomically(&self.path, &table.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::temp_dir::TempDir;
    use crate::protocol::body::MessageRequestMode;

    #[test]
    fn modes_survive_a_reload_in_javas_layout() {
        let dir = TempDir::new("request-mode").unwrap();
        let modes = MessageRequestModeManager::load(dir.path()).unwrap();
        assert_eq!(modes.get("T", "G"), None);
        let body = SetMessageRequestModeRequestBody {
            topic: "T".into(),
            consumer_group: "G".into(),
            mode: MessageRequestMode::Pop,
            pop_share_queue_num: 2,
        };
        modes.set(body.clone()).unwrap();
        let text =
            std::fs::read_to_string(dir.path().join("config/messageRequestMode.json")).unwrap();
        assert_eq!(
            text,
            r#"{"messageRequestModeMap":{"T":{"G":{"consumerGroup":"G","mode":"POP","popShareQueueNum":2,"topic":"T"}}}}"#
        );
        let reloaded = MessageRequestModeManager::load(dir.path()).unwrap();
        assert_eq!(reloaded.get("T", "G"), Some(body));
        assert_eq!(reloaded.get("T", "H"), None);
        std::fs::write(
            dir.path().join("config/messageRequestMode.json"),
            "{not json",
        )
        .unwrap();
        assert!(MessageRequestModeManager::load(dir.path()).is_err());
    }
}
