require ["fileinto"];
require "envelope";
