
Boutput_1J9Жx9J9'Ба8q,