"""Dictionary area: validate data_dictionary/ and publish it as `dictionary.*`."""
