Boutput_0JdÝ	@GQ½
–r>Ý8?FJ€¾ð¹n¼