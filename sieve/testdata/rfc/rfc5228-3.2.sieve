require ["fileinto", "reject"];
