require ["fileinto", "mailbox"];
fileinto :create "INBOX.folder";
